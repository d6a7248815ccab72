"""Records shaped like the service writes them, for dashboard tests and the 100k bench."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ocr_service.storage import repository as repo
from ocr_service.storage.tables import Record, RecordReason

ID_REASONS = [
    ("BLURRY", "front", "人像面照片模糊，请保持手机稳定、对焦清晰后重新拍摄"),
    ("GLARE", "front", "人像面姓名区域反光，请调整角度、避开灯光直射后重新拍摄"),
    ("CARD_TOO_SMALL", "back", "国徽面在照片中太小，请将手机靠近身份证，使证件占满轮廓后重新拍摄"),
    ("TOO_DARK", "back", "国徽面照片过暗，请在光线充足处重新拍摄"),
    ("NAME_MISMATCH", None, "身份证上的姓名与您填写的姓名不一致，请核对后重新填写"),
]
CERT_REASONS = [
    ("SKEWED", "图片歪斜约 4.0°（允许不超过 2°），请摆正后重新扫描或使用自动纠正版本。"),
    ("BLURRY", "图片模糊（文字边缘宽约 2.6 像素，应不超过 2.0），请对焦清晰后重新扫描或拍摄。"),
    ("BAD_FILENAME", "文件名不符合“姓名+身份证号+证书名称+第几页”的格式"),
    ("LOW_RESOLUTION", "图片分辨率过低（短边 800 像素，至少需要 1000 像素）"),
]


def id_measurements(rng: random.Random) -> dict[str, Any]:
    """Per side, the stage records the ID pipeline stores (measured values and limits)."""

    def side() -> dict[str, Any]:
        def stage(measured: dict[str, Any], limits: dict[str, Any] | None = None) -> dict:
            return {
                "passed": True,
                "measured": measured,
                "limits": limits or {},
                "reasons": [],
                "elapsed_ms": round(rng.uniform(1, 200), 1),
            }

        return {
            "stages": {
                "decode": stage({"photo_px": [3000, 4000], "exif_rotated": False}),
                "outline": stage({"found": True, "score": 0.93, "cut_edges": []}),
                "read": stage(
                    {
                        "path": rng.choice(["contour", "contour", "text"]),
                        "card_long_edge_px": rng.randint(400, 2000),
                        "orientation_degrees": rng.choice([0, 0, 0, 90, 180]),
                        "field_scores": {"name": round(rng.uniform(0.7, 1.0), 3), "id_number": 1.0},
                    }
                ),
                "capture": stage(
                    {
                        "sharpness": round(rng.uniform(0.1, 1.0), 3),
                        "text_contrast": round(rng.uniform(10, 200), 1),
                        "glare_fields": {"name": round(rng.uniform(0, 0.3), 3), "id_number": 0.0},
                        "cut_edges": [],
                    },
                    {
                        "min_field_confidence": 0.8,
                        "min_sharpness": 0.37,
                        "min_text_contrast": 30.0,
                        "glare_field_fraction": 0.1,
                        "min_card_width_px": 500,
                    },
                ),
            }
        }

    return {"front": side(), "back": side()}


def id_record(
    rng: random.Random,
    *,
    rejected: bool,
    now: datetime,
    source: str = "mini-program",
    reasons: list[tuple[str, str | None, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    if rejected and reasons is None:
        reasons = [rng.choice(ID_REASONS)]
    return dict(
        record_id=uuid.uuid4().hex,
        kind="id_verification",
        document_type="resident_id_card",
        source=source,
        status="rejected" if rejected else "verified",
        now=now,
        reasons=[{"code": c, "side": s, "message": m} for c, s, m in (reasons or [])],
        measurements=id_measurements(rng),
        timings={"front.decode": 21.0, "front.read": 310.5, "total": 820.4, "service_total": 861.2},
        masked_name="张*",
        masked_id_number="420102********1234",
        id_number_hash=uuid.uuid4().hex,
        **extra,
    )


def certificate_record(
    rng: random.Random,
    *,
    rejected: bool,
    now: datetime,
    source: str = "unit-a",
    reasons: list[tuple[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    if rejected and reasons is None:
        reasons = [rng.choice(CERT_REASONS)]
    checks = {
        "width": 1240,
        "height": 1754,
        "skew_degrees": round(rng.uniform(-5, 5), 2),
        "orientation_degrees": rng.choice([0, 0, 0, 180]),
        "edge_px": round(rng.uniform(1, 3), 2),
        "char_height_px": round(rng.uniform(10, 30), 1),
        "ink_ratio": 0.04,
        "bytes": rng.randint(100_000, 4_000_000),
    }
    values = dict(
        record_id=uuid.uuid4().hex,
        kind="certificate",
        document_type="certificate",
        source=source,
        status="rejected" if rejected else "accepted",
        now=now,
        reasons=[{"code": c, "message": m} for c, m in (reasons or [])],
        checks=checks,
        measurements={
            k: checks[k]
            for k in ("skew_degrees", "orientation_degrees", "width", "height", "bytes")
        },
        timings={"total_ms": 1530.2},
        filename="张*+420102********1234+医师资格证+1.jpg",
    )
    values.update(extra)
    return values


def save(session: Session, values: dict[str, Any]) -> str:
    repo.save_record(session, **values)
    return str(values["record_id"])


_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "kind",
    "document_type",
    "source",
    "status",
    "reasons",
    "warnings",
    "measurements",
    "checks",
    "timings",
    "fields",
    "masked_name",
    "masked_id_number",
    "filename",
)


def bulk_seed(
    session: Session, n: int, *, seed: int = 7, days: int = 30, now: datetime | None = None
) -> None:
    """``n`` records over ``days`` days (a third rejected), in a few large inserts.

    On SQLite the rows go in through the driver with pre-serialised JSON (ten times
    faster than the ORM's per-row encoding); elsewhere through Core inserts."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    sqlite = session.get_bind().dialect.name == "sqlite"
    records: list[Any] = []
    reasons: list[Any] = []
    stamp = "%Y-%m-%d %H:%M:%S.%f"

    def flush() -> None:
        if sqlite:
            conn = session.connection()
            conn.exec_driver_sql(
                f"INSERT INTO records ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                records,
            )
            conn.exec_driver_sql(
                "INSERT INTO record_reasons (record_id, kind, code, created_at) "
                "VALUES (?, ?, ?, ?)",
                reasons,
            )
        else:
            keys = [dict(zip(_COLUMNS, r, strict=True)) for r in records]
            session.execute(Record.__table__.insert(), keys)
            if reasons:
                session.execute(
                    RecordReason.__table__.insert(),
                    [
                        dict(zip(("record_id", "kind", "code", "created_at"), r, strict=True))
                        for r in reasons
                    ],
                )
        records.clear()
        reasons.clear()

    for i in range(n):
        created = now - timedelta(seconds=rng.uniform(0, days * 86400))
        is_id = i % 3 != 0
        rejected = rng.random() < 0.33
        maker = id_record if is_id else certificate_record
        v = maker(
            rng,
            rejected=rejected,
            now=created,
            source=rng.choice(["mini-program", "unit-a", "unit-b"]),
        )
        when: Any = (
            created.astimezone(UTC).replace(tzinfo=None).strftime(stamp) if sqlite else created
        )
        enc: Any = json.dumps if sqlite else (lambda x: x)
        records.append(
            (
                v["record_id"],
                when,
                when,
                v["kind"],
                v["document_type"],
                v["source"],
                v["status"],
                enc(v["reasons"]),
                enc([]),
                enc(v["measurements"]),
                enc(v.get("checks", {})),
                enc(v["timings"]),
                enc({}),
                v.get("masked_name"),
                v.get("masked_id_number"),
                v.get("filename"),
            )
        )
        reasons.extend((v["record_id"], v["kind"], r["code"], when) for r in v["reasons"])
        if len(records) >= 5000:
            flush()
    if records:
        flush()


def sql_seed(session: Session, n: int, *, days: int = 30, now: datetime | None = None) -> None:
    """``n`` records generated inside SQLite in two statements (a second for 100,000 rows):
    two thirds ID verifications, a third of everything rejected, three sources, five
    reason codes per kind, spread over ``days`` days before ``now``."""
    assert session.get_bind().dialect.name == "sqlite"
    end = int((now or datetime.now(UTC)).timestamp())
    id_m = json.dumps(id_measurements(random.Random(1)))
    cert = certificate_record(random.Random(1), rejected=False, now=datetime.now(UTC))
    conn = session.connection()
    conn.exec_driver_sql(
        """
        INSERT INTO records (id, created_at, updated_at, kind, document_type, source, status,
                             reasons, warnings, measurements, checks, timings, fields,
                             masked_name, masked_id_number, filename)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?),
        r AS (SELECT i, strftime('%Y-%m-%d %H:%M:%S', ? - (i * 7919) % (? * 86400), 'unixepoch')
                        || '.000000' AS at,
                     CASE WHEN i % 3 = 0 THEN 'certificate' ELSE 'id_verification' END AS kind,
                     CASE WHEN (i * 13) % 100 < 33 THEN 1 ELSE 0 END AS rejected,
            CASE (i * 31) % 5 WHEN 0 THEN 'BLURRY' WHEN 1 THEN 'GLARE' WHEN 2 THEN 'TOO_DARK'
                          WHEN 3 THEN 'CARD_TOO_SMALL' ELSE 'NAME_MISMATCH' END AS id_code,
            CASE (i * 31) % 5 WHEN 0 THEN 'SKEWED' WHEN 1 THEN 'BLURRY' WHEN 2 THEN 'BAD_FILENAME'
                          WHEN 3 THEN 'LOW_RESOLUTION' ELSE 'UPSIDE_DOWN' END AS cert_code
              FROM n)
        SELECT printf('%032x', i), at, at, kind,
               CASE WHEN kind = 'certificate' THEN 'certificate' ELSE 'resident_id_card' END,
               CASE i % 3 WHEN 0 THEN 'unit-a' WHEN 1 THEN 'mini-program' ELSE 'unit-b' END,
               CASE WHEN kind = 'certificate'
                    THEN CASE WHEN rejected THEN 'rejected' ELSE 'accepted' END
                    ELSE CASE WHEN rejected THEN 'rejected' ELSE 'verified' END END,
               CASE WHEN rejected THEN json_array(json_object(
                    'code', CASE WHEN kind = 'certificate' THEN cert_code ELSE id_code END,
                    'side', NULL, 'message', '测试数据')) ELSE '[]' END,
               '[]',
               CASE WHEN kind = 'certificate' THEN ? ELSE ? END,
               CASE WHEN kind = 'certificate' THEN ? ELSE '{}' END,
               '{"total": 812.5}', '{}',
               CASE WHEN kind = 'certificate' THEN NULL ELSE '张*' END,
               CASE WHEN kind = 'certificate' THEN NULL ELSE '420102********1234' END,
               CASE WHEN kind = 'certificate'
                    THEN '张*+420102********1234+医师资格证+1.jpg' ELSE NULL END
        FROM r
        """,
        (n, end, days, json.dumps(cert["measurements"]), id_m, json.dumps(cert["checks"])),
    )
    conn.exec_driver_sql(
        """
        INSERT INTO record_reasons (record_id, kind, code, created_at)
        SELECT id, kind, json_extract(reasons, '$[0].code'), created_at FROM records
        WHERE reasons != '[]' AND id NOT IN (SELECT record_id FROM record_reasons)
        """
    )
