"""Canary on the embedded default: an ID photo carrying a unique byte string, with a
unique ID number, leaves no trace in the SQLite file (and its WAL), the data
directory, the temporary directory or the logs. (The Redis/PostgreSQL variant is in
test_production.py.)"""

from __future__ import annotations

import io
import logging
import secrets
import tempfile
from pathlib import Path

from ocr_service.logs import JsonFormatter
from tests.service.conftest import HEADERS
from tests.service.support import id_photo_pair, search_tree, with_jpeg_comment


def test_canary_embedded(client_for, make_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    tmp_root = Path(tempfile.gettempdir())
    before = set(tmp_root.iterdir())
    try:
        client = client_for(make_settings())
        front, back, name, number = id_photo_pair(20_000 + secrets.randbelow(10_000))
        marker = b"CANARY-" + secrets.token_hex(12).encode()
        front, back = with_jpeg_comment(front, marker), with_jpeg_comment(back, marker)
        for f, b in ((front, back), (back, front)):  # one likely verified, one rejected
            r = client.post(
                "/v1/id-verifications",
                headers=HEADERS,
                files={"front": ("f.jpg", f, "image/jpeg"), "back": ("b.jpg", b, "image/jpeg")},
                data={"declared_name": name, "declared_id_number": number},
            )
            assert r.status_code == 200, r.text
            assert number not in r.text
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    needles = [marker, number.encode()]
    data_dir = tmp_path / "data"
    assert (data_dir / "ocr-service.db").exists()
    assert not search_tree(data_dir, needles)
    for path in set(tmp_root.iterdir()) - before:
        if path.is_dir():
            assert not search_tree(path, needles), path
        elif path.is_file():
            assert not any(n in path.read_bytes() for n in needles), path
    text = log.getvalue().encode()
    assert b"/v1/id-verifications" in text
    assert not [n for n in needles if n in text]
