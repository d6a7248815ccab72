"""Threshold calibration: records with known measured values and verdicts, and the proposal,
the what-if counts, the applied file and its history exactly as computed by hand.

The seed (``_seed``), by check:

``id_card.min_sharpness`` (passes at or above; proposals on a 0.01 grid)
  confirmed BLURRY rejections: 0.05 0.08 0.10 0.12 0.15 0.18 0.20 0.22 0.25 0.27
  (the 0.27 record's back side read fine at 0.40 and is not behind the rejection)
  false BLURRY rejections: 0.21, 0.24, 0.29, and one with both sides BLURRY (front 0.28,
  back 0.26: the record passes only if its worst side does, so it counts as 0.26)
  unreviewed BLURRY rejection: 0.11; a NAME_MISMATCH rejection at 0.10 is not behind it
  accepted: two verifications, sides (0.35, 0.50) and (0.31, 0.45)

  recall 99 %: keep ceil(0.99 × 10) = 10 confirmed rejected, so t > 0.27: t = 0.28;
  at 0.28 the false rejection at 0.29 passes (1 of 4), no confirmed one, no accepted fails.
  recall 90 %: keep 9, t > 0.25: t = 0.26; the 0.26 and 0.29 false ones pass (2), the
  confirmed 0.27 passes (1).
  what if 0.20: false 4/4 pass, confirmed 0.20 0.22 0.25 0.27 pass (4/10).
  what if 0.40: accepted sides 0.35 and 0.31 fail: 2 records.

``id_card.glare_field_fraction`` (passes below; 0.01 grid)
  confirmed GLARE (worst field): 0.50 0.45 0.40; false: 0.22 0.30.
  keep ceil(0.99 × 3) = 3: t ≤ 0.40, the loosest is 0.40; both false ones pass (2 of 2).

``certificate.skew_reject_degrees`` (passes at or below |skew|; 0.1 grid; default 2)
  confirmed SKEWED: 5.0 4.2 -3.5 3.0; false: 2.4 -2.6.
  keep 4: t < 3.0, the loosest on the grid is 2.9; both false ones pass.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ocr_service import thresholds
from ocr_service.calibration import CHECKS, Group, observations, propose, what_if
from ocr_service.config import Settings
from ocr_service.dashboard import calibration_data as data
from ocr_service.dashboard import queries
from ocr_service.dashboard.auth import create_reviewer
from ocr_service.dashboard.tables import AuditEvent, ThresholdChange
from ocr_service.main import create_app
from ocr_service.storage import repository as repo
from ocr_service.storage.db import session_scope
from ocr_service.thresholds import CalibrationConfig, live_settings, read_thresholds
from pipelines.id_card.config import IdCardConfig
from tests.dashboard.conftest import PASSWORD, REVIEWER, csrf_of, login, make_settings
from tests.service.support import FakeEngine

OPERATOR = "运维乙"
#: the defaults in force (others tune them; the proposals do not depend on them)
SHARP = IdCardConfig().min_sharpness
GLARE = IdCardConfig().glare_field_fraction
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ID_LIMITS = {
    "min_field_confidence": 0.85,
    "glare_field_fraction": 0.2,
    "min_text_contrast": 60.0,
    "min_sharpness": 0.3,
    "min_card_width_px": 480,
}


def _side(
    *, sharpness: float = 0.5, glare: float = 0.0, reasons: tuple[str, ...] = ()
) -> dict[str, Any]:
    """One side's stage records as the ID pipeline writes them (the parts calibration reads)."""
    return {
        "stages": {
            "read": {
                "passed": True,
                "measured": {"card_long_edge_px": 900, "field_scores": {"name": 0.9}},
                "limits": {},
                "reasons": [],
                "elapsed_ms": 1.0,
            },
            "capture": {
                "passed": not reasons,
                "measured": {
                    "sharpness": sharpness,
                    "text_contrast": 90.0,
                    "glare_fields": {"name": glare, "id_number": 0.0},
                },
                "limits": dict(ID_LIMITS),
                "reasons": list(reasons),
                "elapsed_ms": 1.0,
            },
        }
    }


class Seeder:
    def __init__(self, session: Any) -> None:
        self.session = session
        self.n = 0
        self.ids: dict[str, str] = {}

    def _save(self, label: str, verdict: str | None = None, **values: Any) -> str:
        self.n += 1
        record_id = uuid.uuid4().hex
        repo.save_record(
            self.session,
            record_id=record_id,
            source="test",
            now=NOW - timedelta(minutes=self.n),
            **values,
        )
        if verdict:
            queries.save_feedback(
                self.session,
                record_id=record_id,
                verdict=verdict,
                note="",
                reviewer=REVIEWER,
                now=NOW,
            )
        self.ids[label] = record_id
        return record_id

    def id_record(
        self,
        label: str,
        front: dict[str, Any],
        back: dict[str, Any],
        *,
        codes: tuple[str, ...] = (),
        verdict: str | None = None,
    ) -> str:
        return self._save(
            label,
            verdict,
            kind="id_verification",
            document_type="resident_id_card",
            status="rejected" if codes else "verified",
            reasons=[{"code": c, "side": "front", "message": "m"} for c in codes],
            measurements={"front": front, "back": back},
        )

    def certificate(self, label: str, skew: float, verdict: str | None, rejected: bool) -> str:
        stage = {
            "passed": not rejected,
            "measured": {"skew_degrees": skew, "skew_confidence": 2.0},
            "limits": {"skew_reject_degrees": 2.0, "skew_min_confidence": 1.15},
            "reasons": ["SKEWED"] if rejected else [],
            "elapsed_ms": 1.0,
        }
        return self._save(
            label,
            verdict,
            kind="certificate",
            document_type="certificate",
            status="rejected" if rejected else "accepted",
            reasons=[{"code": "SKEWED", "message": "m"}] if rejected else [],
            checks={"skew_degrees": skew, "stages": {"skew": stage}},
        )


def _seed(session: Any, *, false_verdicts: bool = True) -> dict[str, str]:
    """The records above; without ``false_verdicts`` the four false BLURRY rejections are
    left unreviewed (the browser test marks them)."""
    s = Seeder(session)
    false = "false_rejection" if false_verdicts else None
    blurry = ("BLURRY",)
    for i, v in enumerate((0.05, 0.08, 0.10, 0.12, 0.15, 0.18, 0.20, 0.22, 0.25)):
        s.id_record(f"c{i}", _side(sharpness=v, reasons=blurry), _side(), codes=blurry,
                    verdict="correct")  # fmt: skip
    s.id_record("c0.27", _side(sharpness=0.27, reasons=blurry), _side(sharpness=0.40),
                codes=blurry, verdict="correct")  # fmt: skip
    for label, v in (("f0.21", 0.21), ("f0.24", 0.24), ("f0.29", 0.29)):
        s.id_record(label, _side(sharpness=v, reasons=blurry), _side(), codes=blurry,
                    verdict=false)  # fmt: skip
    s.id_record("f-both", _side(sharpness=0.28, reasons=blurry),
                _side(sharpness=0.26, reasons=blurry), codes=blurry,
                verdict=false)  # fmt: skip
    s.id_record("u0.11", _side(sharpness=0.11, reasons=blurry), _side(), codes=blurry)
    s.id_record("name", _side(sharpness=0.10), _side(), codes=("NAME_MISMATCH",),
                verdict="correct")  # fmt: skip
    s.id_record("a1", _side(sharpness=0.35), _side(sharpness=0.50))
    s.id_record("a2", _side(sharpness=0.31), _side(sharpness=0.45))
    glare = ("GLARE",)
    for label, v, verdict in (
        ("g0.50", 0.50, "correct"),
        ("g0.45", 0.45, "correct"),
        ("g0.40", 0.40, "correct"),
        ("g0.22", 0.22, "false_rejection"),
        ("g0.30", 0.30, "false_rejection"),
    ):
        s.id_record(label, _side(glare=v, reasons=glare), _side(), codes=glare, verdict=verdict)
    for label, v, verdict in (
        ("s5.0", 5.0, "correct"),
        ("s4.2", 4.2, "correct"),
        ("s-3.5", -3.5, "correct"),
        ("s3.0", 3.0, "correct"),
        ("s2.4", 2.4, "false_rejection"),
        ("s-2.6", -2.6, "false_rejection"),
    ):
        s.certificate(label, v, verdict, rejected=True)
    s.certificate("s-ok", 0.5, None, rejected=False)
    return s.ids


# -- the pure computations ------------------------------------------------------------------


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Settings, Any, dict[str, str]]:
    settings = make_settings(tmp_path / "data", calibration=CalibrationConfig(min_reviewed=5))
    app = create_app(settings, engine=FakeEngine(), configure_logs=False)
    factory = app.state.runtime.session_factory
    with session_scope(factory) as session:
        ids = _seed(session)
        create_reviewer(session, REVIEWER, PASSWORD)
        create_reviewer(session, OPERATOR, PASSWORD, role="operator")
    return settings, app, ids


def _obs(app: Any, name: str) -> list[Any]:
    with session_scope(app.state.runtime.session_factory) as session:
        return observations(CHECKS[name], data.load_records(session, CHECKS[name]))


def test_observations_are_grouped_per_record_and_side(seeded: Any) -> None:
    _, app, ids = seeded
    obs = _obs(app, "id_card.min_sharpness")
    by_group = {g: sorted(o.value for o in obs if o.group is g) for g in Group}
    assert by_group[Group.CONFIRMED] == [0.05, 0.08, 0.10, 0.12, 0.15, 0.18, 0.20, 0.22, 0.25, 0.27]
    assert by_group[Group.FALSE] == [0.21, 0.24, 0.26, 0.29]
    assert by_group[Group.UNREVIEWED] == [0.11]
    assert by_group[Group.ACCEPTED] == [0.31, 0.35, 0.45, 0.50]
    both = next(o for o in obs if o.record_id == ids["f-both"])
    assert both.sides == ("front", "back") and both.value == 0.26 and both.limit == 0.3
    assert ids["name"] not in {o.record_id for o in obs}


def test_proposal_and_what_if_as_computed_by_hand(seeded: Any) -> None:
    _, app, ids = seeded
    check = CHECKS["id_card.min_sharpness"]
    obs = _obs(app, check.name)

    p = propose(check, obs, target_recall=0.99, min_reviewed=5)
    assert (p.threshold, p.reviewed, p.confirmed, p.false_rejections) == (0.28, 14, 10, 4)
    assert p.kept_rejected == 10 and p.outcome is not None
    assert p.outcome.false_passing == (ids["f0.29"],)
    assert p.outcome.confirmed_passing == () and p.outcome.accepted_failing == ()
    assert p.outcome.recall == 1.0

    p90 = propose(check, obs, target_recall=0.9, min_reviewed=5)
    assert p90.threshold == 0.26 and p90.kept_rejected == 9 and p90.outcome is not None
    assert set(p90.outcome.false_passing) == {ids["f-both"], ids["f0.29"]}
    assert p90.outcome.confirmed_passing == (ids["c0.27"],)

    w = what_if(check, obs, 0.20)
    assert len(w.false_passing) == 4 and w.false_total == 4
    assert set(w.confirmed_passing) == {ids["c6"], ids["c7"], ids["c8"], ids["c0.27"]}
    assert w.confirmed_total == 10 and w.recall == pytest.approx(0.6)
    w = what_if(check, obs, 0.40)
    assert set(w.accepted_failing) == {ids["a1"], ids["a2"]} and w.accepted_total == 4

    refused = propose(check, obs, target_recall=0.99, min_reviewed=15)
    assert refused.threshold is None and "14" in (refused.refused or "")


def test_other_directions_as_computed_by_hand(seeded: Any) -> None:
    _, app, ids = seeded
    glare = CHECKS["id_card.glare_field_fraction"]
    p = propose(glare, _obs(app, glare.name), target_recall=0.99, min_reviewed=5)
    assert (p.threshold, p.reviewed) == (0.4, 5) and p.outcome is not None
    assert set(p.outcome.false_passing) == {ids["g0.22"], ids["g0.30"]}
    assert p.outcome.confirmed_passing == ()  # 0.40 is not below 0.40: still glare

    skew = CHECKS["certificate.skew_reject_degrees"]
    obs = _obs(app, skew.name)
    assert sorted(o.value for o in obs if o.group is Group.ACCEPTED) == [0.5]
    p = propose(skew, obs, target_recall=0.99, min_reviewed=5)
    assert (p.threshold, p.reviewed, p.confirmed) == (2.9, 6, 4) and p.outcome is not None
    assert set(p.outcome.false_passing) == {ids["s2.4"], ids["s-2.6"]}
    assert p.outcome.confirmed_passing == ()


# -- applying, the file, the history -------------------------------------------------------


def test_apply_writes_the_file_reloads_and_rolls_back(seeded: Any) -> None:
    settings, app, _ = seeded
    factory = app.state.runtime.session_factory
    path = settings.thresholds_file
    assert path == settings.data_dir / "thresholds.toml" and not path.exists()
    sharp, glare = CHECKS["id_card.min_sharpness"], CHECKS["id_card.glare_field_fraction"]
    with session_scope(factory) as session:
        ev = data.gather(session, settings, sharp)
        assert (ev.current, ev.source) == (SHARP, "default")
        first = data.apply_threshold(
            session, settings=settings, check=sharp, value=0.28, operator=OPERATOR,
            client="127.0.0.1", evidence=ev, now=NOW,
        )  # fmt: skip
        first_id = first.id
    assert read_thresholds(path) == {"id_card": {"min_sharpness": 0.28}}
    assert path.read_text().endswith("\n[id_card]\nmin_sharpness = 0.28\n")
    assert path.stat().st_mode & 0o777 == 0o600
    live = live_settings(settings)
    assert live.id_card.min_sharpness == 0.28
    assert live.thresholds.source_of("id_card", "min_sharpness") == "file"
    assert Settings(data_dir=settings.data_dir).id_card.min_sharpness == 0.28  # at start-up

    with session_scope(factory) as session:
        ev = data.gather(session, settings, glare)
        data.apply_threshold(
            session, settings=settings, check=glare, value=0.4, operator=OPERATOR,
            client=None, evidence=ev, now=NOW,
        )  # fmt: skip
    assert path.read_text().endswith(
        "\n[id_card]\nglare_field_fraction = 0.4\nmin_sharpness = 0.28\n"
    )
    with session_scope(factory) as session:
        data.rollback(
            session, settings=settings, change_id=first_id, operator=OPERATOR, client=None
        )
    assert read_thresholds(path) == {"id_card": {"glare_field_fraction": 0.4}}
    live = live_settings(settings)
    assert (live.id_card.min_sharpness, live.id_card.glare_field_fraction) == (SHARP, 0.4)

    with session_scope(factory) as session:
        changes = session.scalars(select(ThresholdChange).order_by(ThresholdChange.id)).all()
        rows = [
            (c.action, c.check_name, c.value_before, c.value_after, c.file_before, c.file_after)
            for c in changes
        ]
        assert rows == [
            ("apply", "id_card.min_sharpness", SHARP, 0.28, None, 0.28),
            ("apply", "id_card.glare_field_fraction", GLARE, 0.4, None, 0.4),
            ("rollback", "id_card.min_sharpness", 0.28, SHARP, 0.28, None),
        ]
        assert changes[0].evidence == {
            "reviewed": 14,
            "confirmed": 10,
            "false_rejections": 4,
            "accepted": 4,
            "false_would_pass": 1,
            "confirmed_would_pass": 0,
            "accepted_would_fail": 0,
            "proposed": 0.28,
            "target_recall": 0.99,
        }
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("threshold_%")).order_by(AuditEvent.id)
        ).all()
        assert [(e.action, e.reviewer, e.detail["from"], e.detail["to"]) for e in events] == [
            ("threshold_apply", OPERATOR, SHARP, 0.28),
            ("threshold_apply", OPERATOR, GLARE, 0.4),
            ("threshold_rollback", OPERATOR, 0.28, SHARP),
        ]
        assert events[0].detail["evidence"]["false_would_pass"] == 1


def test_the_environment_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "thresholds.toml").write_text(
        "[id_card]\nmin_sharpness = 0.2\nmin_text_contrast = 50\n"
    )
    monkeypatch.setenv("OCR_SERVICE_ID_CARD__MIN_SHARPNESS", "0.35")
    s = make_settings(data_dir)
    assert (s.id_card.min_sharpness, s.id_card.min_text_contrast) == (0.35, 50.0)
    assert s.thresholds.source_of("id_card", "min_sharpness") == "environment"
    assert s.thresholds.source_of("id_card", "min_text_contrast") == "file"
    assert s.thresholds.source_of("id_card", "min_card_width_px") == "default"
    app = create_app(s, engine=FakeEngine(), configure_logs=False)
    with session_scope(app.state.runtime.session_factory) as session:
        ev = data.gather(session, s, CHECKS["id_card.min_sharpness"])
        assert not ev.can_apply
        with pytest.raises(data.CalibrationError, match="OCR_SERVICE_ID_CARD__MIN_SHARPNESS"):
            data.apply_threshold(
                session, settings=s, check=ev.check, value=0.1, operator=OPERATOR,
                client=None, evidence=ev,
            )  # fmt: skip


def test_a_bad_file_is_an_error_at_start_up_and_ignored_on_reload(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path = data_dir / "thresholds.toml"
    path.write_text("[id_card]\nmin_sharpness = 0.25\n")
    s = make_settings(data_dir)
    path.write_text("[id_card]\nmin_sharpnes = 0.2\n")  # a typo
    with pytest.raises(ValueError, match="min_sharpnes"):
        make_settings(data_dir)
    thresholds.request_reload()
    assert live_settings(s).id_card.min_sharpness == 0.25  # the last good values stay
    path.write_text("[ops]\nworkers = 3\n")
    with pytest.raises(ValueError, match="unknown section"):
        make_settings(data_dir)


# -- the pages -----------------------------------------------------------------------------


@pytest.fixture
def pages(seeded: Any) -> Any:
    settings, app, ids = seeded
    with TestClient(app, raise_server_exceptions=False, base_url="http://testserver") as c:
        yield c, settings, ids


def test_pages_show_the_evidence_and_only_operators_apply(pages: Any) -> None:
    client, settings, ids = pages
    csrf = login(client)  # a reviewer without the operator role
    page = client.get("/qa/calibration")
    assert page.status_code == 200 and 'data-check="id_card.min_sharpness"' in page.text
    assert 'data-proposed="0.28"' in page.text
    page = client.get("/qa/calibration/id_card.min_sharpness?t=0.2")
    assert page.status_code == 200
    assert '<tr data-outcome="false-passing">' in page.text
    assert 'data-count="4"' in page.text  # 4 false and 4 confirmed would pass at 0.20
    assert f"/qa/records/{ids['c0.27']}" in page.text
    assert 'id="histogram"' in page.text and 'data-mark="current"' in page.text
    assert 'id="apply-denied"' in page.text and 'id="apply"' not in page.text
    denied = client.post(
        "/qa/calibration/id_card.min_sharpness/apply",
        data={"csrf_token": csrf, "value": "0.28"},
        follow_redirects=False,
    )
    assert denied.status_code == 403 and not settings.thresholds_file.exists()

    client.post("/qa/logout", data={"csrf_token": csrf})
    login(client, OPERATOR)
    page = client.get("/qa/calibration/id_card.min_sharpness")
    assert 'id="apply"' in page.text
    done = client.post(
        "/qa/calibration/id_card.min_sharpness/apply",
        data={"csrf_token": csrf_of(page.text), "value": "0.28"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert read_thresholds(settings.thresholds_file) == {"id_card": {"min_sharpness": 0.28}}
    shown = client.get("/qa/settings").text
    assert '<td data-source="file">' in shown
    assert "threshold_apply" in client.get("/qa/audit").text
    no_csrf = client.post("/qa/calibration/id_card.min_sharpness/apply", data={"value": "0.1"})
    assert no_csrf.status_code == 403
    assert read_thresholds(settings.thresholds_file) == {"id_card": {"min_sharpness": 0.28}}
    page = client.get("/qa/calibration")
    change = re.search(r'action="(/qa/calibration-changes/\d+/rollback)"', page.text)
    assert change, "no rollback button for the operator"
    undone = client.post(
        change.group(1), data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert undone.status_code == 303, undone.text
    assert read_thresholds(settings.thresholds_file) == {}  # back to the default
    assert '<td data-source="default">' in client.get("/qa/settings").text


# -- the command line and the signal --------------------------------------------------------


def test_cli_prints_the_tables_and_applies(seeded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ocr_service.cli import app as cli_app
    from tests.dashboard.conftest import SECRET

    settings, _, ids = seeded
    monkeypatch.setenv("OCR_SERVICE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("OCR_SERVICE_SECRET_KEY", SECRET)
    monkeypatch.setenv("OCR_SERVICE_CALIBRATION__MIN_REVIEWED", "5")
    runner = CliRunner()
    listed = runner.invoke(cli_app, ["calibrate"])
    assert listed.exit_code == 0, listed.output
    assert "certificate.skew_reject_degrees" in listed.output and "2.9" in listed.output
    shown = runner.invoke(cli_app, ["calibrate", "--check", "id_card.min_sharpness"])
    assert shown.exit_code == 0, shown.output
    assert "proposal: ≥ 0.28  from 14 reviewed rejections (10 confirmed, 4 false)" in shown.output
    assert f"false rejections that would pass: 1/4  {ids['f0.29']}" in shown.output
    what = runner.invoke(
        cli_app, ["calibrate", "--check", "id_card.min_sharpness", "--threshold", "0.2"]
    )
    assert "confirmed rejections that would pass: 4/10" in what.output
    assert not settings.thresholds_file.exists()
    done = runner.invoke(
        cli_app,
        ["calibrate", "--check", "id_card.min_sharpness", "--apply", "--operator", "ops"],
    )
    assert done.exit_code == 0, done.output
    assert f"applied: id_card.min_sharpness {SHARP:g} -> 0.28" in done.output
    assert read_thresholds(settings.thresholds_file) == {"id_card": {"min_sharpness": 0.28}}


def test_sighup_reloads_the_file(tmp_path: Path) -> None:
    import os
    import signal

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path = data_dir / "thresholds.toml"
    s = make_settings(data_dir)
    assert live_settings(s).id_card.min_sharpness == SHARP
    path.write_text("[id_card]\nmin_sharpness = 0.21\n")
    assert live_settings(s).id_card.min_sharpness == SHARP  # nothing asked for a reload
    previous = signal.getsignal(signal.SIGHUP)
    try:
        assert thresholds.install_reload_signal()
        os.kill(os.getpid(), signal.SIGHUP)
        live = live_settings(s)
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert live.id_card.min_sharpness == 0.21
    assert live.thresholds.source_of("id_card", "min_sharpness") == "file"
