"""The privacy canary shared by the embedded and the Redis + PostgreSQL runs: traffic with
known identities (ID verifications, manual-review submissions, certificate validations
and a batch), then a search of every stored byte for what would identify a person.

What is searched for, per identity: the full number; the birth date written
19900101, 1990-01-01, 1990/01/01, 1990.01.01, 1990年01月01日 and 1990年1月1日; the full
name (UTF-8 and as a JSON ``\\u`` escape); and, in everything, any 18-character string
with a valid GB 11643 check character and birth date. Sealed and encrypted blobs (Fernet
tokens) are opaque bytes, so they cannot match.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from stdnum.cn import ric

from tests.service.conftest import HEADERS
from tests.service.support import id_photo_pair, tiny_png, with_jpeg_comment


@dataclass(frozen=True)
class Identity:
    name: str
    number: str

    @property
    def birth(self) -> date:
        n = self.number
        return date(int(n[6:10]), int(n[10:12]), int(n[12:14]))

    def needles(self) -> list[bytes]:
        b = self.birth
        forms = [
            self.number,
            self.number.lower(),
            f"{b:%Y%m%d}",
            f"{b:%Y-%m-%d}",
            f"{b:%Y/%m/%d}",
            f"{b:%Y.%m.%d}",
            f"{b:%Y}年{b:%m}月{b:%d}日",
            f"{b.year}年{b.month}月{b.day}日",
            self.name,
            json.dumps(self.name)[1:-1],  # JSON columns store non-ASCII as \\u escapes
        ]
        return [f.encode() for f in dict.fromkeys(forms)]


_CANDIDATE = re.compile(rb"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def valid_numbers_in(data: bytes) -> list[str]:
    """Every 18-character GB 11643 number (valid check character and birth date)."""
    found = []
    for match in _CANDIDATE.finditer(data):
        text = match.group().decode().upper()
        if ric.is_valid(text):
            found.append(text)
    return found


def scan(blobs: Mapping[str, bytes], identities: Iterable[Identity]) -> list[str]:
    """'where: what' for every hit."""
    hits = []
    people = list(identities)
    for where, data in blobs.items():
        for person in people:
            for needle in person.needles():
                if needle in data:
                    hits.append(f"{where}: {needle.decode(errors='replace')!r}")
        hits.extend(f"{where}: GB 11643 number {n[:6]}…" for n in valid_numbers_in(data))
    return hits


def files_under(root: Path) -> dict[str, bytes]:
    out = {}
    for path in root.rglob("*"):
        if path.is_file():
            try:
                out[str(path)] = path.read_bytes()
            except OSError:
                continue
    return out


def table_dump(rows_by_table: Mapping[str, Iterable[Mapping[str, object]]]) -> dict[str, bytes]:
    """A logical dump, JSON values decoded (so a name inside a JSON column is plain text)."""
    return {
        f"table {table}": "\n".join(
            json.dumps(dict(row), ensure_ascii=False, default=_plain) for row in rows
        ).encode()
        for table, rows in rows_by_table.items()
    }


def _plain(value: object) -> object:
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return str(value)


# -- traffic ----------------------------------------------------------------------------


@dataclass
class Traffic:
    id_people: list[Identity]
    certificate_people: list[Identity]
    marker: bytes
    batch_id: str | None = None


def send_traffic(client, seed: int, *, certificates: bool = True) -> Traffic:  # type: ignore[no-untyped-def]
    """Verifications (verified, rejected, locked), manual-review submissions of an ID card
    and a passport, a certificate validation and a two-file batch."""
    import secrets

    marker = b"CANARY-" + secrets.token_hex(12).encode()
    people = []
    for k in range(2):
        front, back, name, number = id_photo_pair(seed + k)
        people.append(Identity(name, number))
        front, back = with_jpeg_comment(front, marker), with_jpeg_comment(back, marker)
        for f, b in ((front, back), (back, front)):  # one verified, one rejected
            r = client.post(
                "/v1/id-verifications",
                headers={**HEADERS, "X-End-User": f"canary-{k}"},
                files={"front": ("f.jpg", f, "image/jpeg"), "back": ("b.jpg", b, "image/jpeg")},
                data={"declared_name": name, "declared_id_number": number},
            )
            assert r.status_code == 200, r.text
        # manual review of the same card, under another end user
        r = client.post(
            "/v1/id-verifications",
            headers={**HEADERS, "X-End-User": f"canary-manual-{k}"},
            files={"front": ("f.jpg", front, "image/jpeg"), "back": ("b.jpg", back, "image/jpeg")},
            data={
                "declared_name": name,
                "declared_id_number": number,
                "document_type": "resident_id_card_manual",
            },
        )
        assert r.status_code == 202, r.text
    # a locked answer: three junk failures by one end user, then a fourth try
    junk = tiny_png(320, 240)
    first = people[0]
    for _ in range(4):
        r = client.post(
            "/v1/id-verifications",
            headers={**HEADERS, "X-End-User": "canary-junk"},
            files={"front": ("f.png", junk, "image/png"), "back": ("b.png", junk, "image/png")},
            data={"declared_name": first.name, "declared_id_number": first.number},
        )
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "locked"
    r = client.post(
        "/v1/id-verifications",
        headers={**HEADERS, "X-End-User": "canary-passport"},
        files={"front": ("f.png", junk, "image/png"), "back": ("b.png", junk, "image/png")},
        data={
            "declared_name": people[1].name,
            "declared_id_number": "E" + people[1].number[-8:],
            "document_type": "passport",
        },
    )
    assert r.status_code == 202, r.text

    traffic = Traffic(people, [], marker)
    if not certificates:
        return traffic
    from samples.certificate.generate import canonical_filename, make_scan_bytes, random_spec

    files = []
    for k in range(3):
        spec = random_spec(random.Random(seed * 7 + k))
        traffic.certificate_people.append(Identity(spec.holder.name, spec.holder.id_number))
        files.append((canonical_filename(spec), make_scan_bytes(spec, seed + k)))
    files[-1] = (files[-1][0], _upside_down(files[-1][1]))  # fixable: a fixed file is made
    name0, data0 = files[0]
    r = client.post(
        "/v1/certificates/validate", headers=HEADERS, files={"file": (name0, data0, "image/jpeg")}
    )
    assert r.status_code == 200, r.text
    r = client.post(
        "/v1/certificate-batches",
        headers=HEADERS,
        files=[("files", (n, d, "image/jpeg")) for n, d in files[1:]],
    )
    assert r.status_code == 202, r.text
    traffic.batch_id = r.json()["id"]
    return traffic


def _upside_down(jpeg: bytes) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).rotate(180).save(out, "JPEG", quality=90)
    return out.getvalue()


