"""Files under ``DATA_DIR``: certificate uploads, previews, fixed files, review images.

Every name on disk is generated (hex ids); a client's filename never becomes a
path. Manual-review images are written encrypted and removed on decision.
ID images of automatic verifications never reach this module.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from ocr_service.security import Cipher


def new_id() -> str:
    return uuid.uuid4().hex


class FileStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        for sub in ("batches", "certificates", "reviews"):
            (self.root / sub).mkdir(mode=0o700, parents=True, exist_ok=True)

    # paths are stored relative to the root, so a data dir can be moved
    def relative(self, path: Path) -> str:
        return str(path.resolve().relative_to(self.root))

    def absolute(self, stored: str) -> Path:
        path = (self.root / stored).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError("stored path escapes the data directory")
        return path

    def batch_dir(self, batch_id: str) -> Path:
        path = self.root / "batches" / _safe(batch_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def new_batch_upload(self, batch_id: str, suffix: str = ".bin") -> Path:
        return self.batch_dir(batch_id) / f"{new_id()}{suffix}"

    def single_dir(self) -> Path:
        return self.root / "certificates"

    def write(self, path: Path, data: bytes) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        return self.relative(path)

    def read(self, stored: str) -> bytes:
        return self.absolute(stored).read_bytes()

    def delete(self, stored: str | None) -> None:
        if stored:
            self.absolute(stored).unlink(missing_ok=True)

    # manual-review images: encrypted at rest ------------------------------------

    def write_review_images(self, record_id: str, images: dict[str, bytes], cipher: Cipher) -> str:
        folder = self.root / "reviews" / _safe(record_id)
        folder.mkdir(parents=True, exist_ok=False)
        for side, data in images.items():
            self.write(folder / f"{_safe(side)}.enc", cipher.encrypt(data))
        return self.relative(folder)

    def read_review_images(self, image_dir: str, cipher: Cipher) -> dict[str, bytes]:
        folder = self.absolute(image_dir)
        return {p.stem: cipher.decrypt(p.read_bytes()) for p in sorted(folder.glob("*.enc"))}

    def delete_dir(self, stored: str | None) -> None:
        if stored:
            shutil.rmtree(self.absolute(stored), ignore_errors=True)


def _safe(name: str) -> str:
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise ValueError("unsafe storage name")
    return name
