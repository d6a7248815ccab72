"""Keyed hashes, encryption and API-key material.

Everything here is derived from the one master secret (``Settings.secret``)
with a distinct purpose label, so the HMAC key of ID numbers, the key that
encrypts manual-review images and the key that encrypts ID payloads on the
broker are independent. None of them is ever written to the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken

API_KEY_PREFIX = "osk"


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose (HMAC-SHA256 as a KDF over a high-entropy secret)."""
    return hmac.new(secret, b"ocr-service/" + purpose.encode(), hashlib.sha256).digest()


def keyed_hash(key: bytes, value: str) -> str:
    """Hex HMAC-SHA256: an 18-digit number cannot be recovered from it without the key."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class CipherError(Exception):
    """A token could not be decrypted: wrong key, tampered or expired."""


@dataclass(frozen=True)
class Cipher:
    """Authenticated symmetric encryption (Fernet: AES-128-CBC + HMAC-SHA256, timestamped)."""

    key: bytes

    @classmethod
    def for_purpose(cls, secret: bytes, purpose: str) -> Cipher:
        return cls(base64.urlsafe_b64encode(derive_key(secret, purpose)))

    def encrypt(self, data: bytes) -> bytes:
        return Fernet(self.key).encrypt(data)

    def decrypt(self, token: bytes, *, ttl: int | None = None) -> bytes:
        try:
            return Fernet(self.key).decrypt(token, ttl=ttl)
        except InvalidToken as exc:
            raise CipherError("cannot decrypt: wrong key, tampered or expired") from exc


@dataclass(frozen=True)
class Keys:
    """The derived keys one process needs."""

    id_number: bytes
    requester: bytes
    audit_names: bytes  # keys the hash of a login name that names no account
    review_images: Cipher
    queue_payloads: Cipher

    @classmethod
    def from_secret(cls, secret: bytes) -> Keys:
        return cls(
            id_number=derive_key(secret, "id-number-hmac"),
            requester=derive_key(secret, "requester-hmac"),
            audit_names=derive_key(secret, "audit-name-hmac"),
            review_images=Cipher.for_purpose(secret, "review-images"),
            queue_payloads=Cipher.for_purpose(secret, "queue-payloads"),
        )


# API keys ---------------------------------------------------------------------


def generate_api_key() -> tuple[str, str]:
    """A new key: (key id, full key ``osk_<id>_<secret>``). Only the hash is stored."""
    key_id = secrets.token_hex(6)
    return key_id, f"{API_KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def parse_key_id(presented: str) -> str | None:
    parts = presented.split("_")
    if len(parts) >= 3 and parts[0] == API_KEY_PREFIX and len(parts[1]) == 12:
        return parts[1]
    return None


def hash_api_key(key: str) -> str:
    """SHA-256 is enough for 256-bit random keys (no dictionary to guess from)."""
    return hashlib.sha256(key.encode()).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
