"""docs/monitoring/: the alert rules pass ``promtool check rules`` and the Grafana dashboard is
valid JSON of the expected shape; both only name metrics the service exposes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema_rs  # ships with schemathesis (dev)
import pytest
import yaml

from tests.service.conftest import HEADERS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "monitoring"
RULES = DOCS / "alerts.yml"
DASHBOARD = DOCS / "grafana-dashboard.json"
_NAME = re.compile(r"\bocr_[a-z_]+\b")
_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")

DASHBOARD_SCHEMA = {
    "type": "object",
    "required": ["title", "uid", "schemaVersion", "panels"],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "uid": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"},
        "schemaVersion": {"type": "integer", "minimum": 30},
        "panels": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "type", "title", "gridPos", "targets"],
                "properties": {
                    "id": {"type": "integer"},
                    "type": {"enum": ["timeseries", "stat", "table", "gauge", "bargauge"]},
                    "gridPos": {
                        "type": "object",
                        "required": ["x", "y", "w", "h"],
                        "properties": {
                            "x": {"type": "integer", "minimum": 0, "maximum": 23},
                            "w": {"type": "integer", "minimum": 1, "maximum": 24},
                        },
                    },
                    "targets": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["refId", "expr"],
                            "properties": {"expr": {"type": "string", "minLength": 1}},
                        },
                    },
                },
            },
        },
    },
}


def test_alert_rules_pass_promtool() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool missing: scripts/install-system-deps.sh installs `prometheus`")
        pytest.skip("promtool is not installed (Debian package prometheus)")
    run = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_alert_rules_cover_what_operators_asked_for() -> None:
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    exprs = " ".join(r["expr"] for r in rules)
    assert "ocr_queue_oldest_job_age_seconds" in exprs  # stuck queue
    assert "ocr_id_verification_reasons_total" in exprs and "offset 1d" in exprs  # jumps
    assert "histogram_quantile(0.95" in exprs  # p95 latency
    assert "ocr_manual_reviews_pending" in exprs  # review backlog


def test_dashboard_is_valid() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    jsonschema_rs.validate(DASHBOARD_SCHEMA, dashboard)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_docs_name_only_metrics_the_service_exposes(client) -> None:  # type: ignore[no-untyped-def]
    exposed = set()
    for line in client.get("/metrics", headers=HEADERS).text.splitlines():
        if line.startswith(("# HELP ", "# TYPE ")):
            exposed.add(line.split()[2])
    named = set(_NAME.findall(RULES.read_text() + DASHBOARD.read_text()))
    unknown = set()
    for name in named:
        base = name
        for suffix in _SUFFIXES:
            base = base.removesuffix(suffix)
        if name not in exposed and base not in exposed:
            unknown.add(name)
    assert not unknown, f"not exposed by /metrics: {sorted(unknown)}"
