"""Privacy canary on the embedded default: ID verifications (verified, rejected, locked),
manual-review submissions, a certificate validation and a batch, with known identities;
then every stored byte is searched (a logical dump of every table, every file under
DATA_DIR with the SQLite file and its WAL, new temporary files, the logs) for full
numbers, birth dates in any written form, full names, any valid GB 11643 number, and a
marker carried inside the ID photos. (The Redis/PostgreSQL run is in test_production.py.)"""

from __future__ import annotations

import io
import logging
import secrets
import tempfile
import time
from pathlib import Path

from sqlalchemy import MetaData, select

from ocr_service.logs import JsonFormatter
from tests.service.canary import (
    files_under,
    scan,
    send_traffic,
    table_dump,
)
from tests.service.conftest import HEADERS


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
        traffic = send_traffic(client, 20_000 + secrets.randbelow(10_000))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            body = client.get(f"/v1/certificate-batches/{traffic.batch_id}", headers=HEADERS)
            if body.json()["status"] == "completed":
                break
            time.sleep(0.5)
        else:
            raise AssertionError("batch did not complete")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)

    runtime = client.app.state.runtime
    metadata = MetaData()
    metadata.reflect(runtime.db_engine)
    with runtime.db_engine.connect() as conn:
        dump = table_dump(
            {
                name: [r._mapping for r in conn.execute(select(table))]
                for name, table in metadata.tables.items()
            }
        )
    data_dir = tmp_path / "data"
    assert (data_dir / "ocr-service.db").exists()
    blobs = {**dump, **files_under(data_dir), "logs": log.getvalue().encode()}
    for path in set(tmp_root.iterdir()) - before:
        if path.is_dir():
            blobs.update(files_under(path))
        elif path.is_file():
            blobs[str(path)] = path.read_bytes()
    assert b"/v1/id-verifications" in blobs["logs"]
    # the search finds what is there: the control
    assert scan({"control": traffic.id_people[0].number.encode()}, traffic.id_people)

    id_hits = [h for h in scan(blobs, traffic.id_people) if "GB 11643" not in h]
    id_hits += [f"{w}: marker" for w, data in blobs.items() if traffic.marker in data]
    assert not id_hits, id_hits
    assert not scan(blobs, []), "a valid GB 11643 number is stored somewhere"
    certificate_hits = scan(blobs, traffic.certificate_people)
    assert not certificate_hits, certificate_hits
