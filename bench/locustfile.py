"""Locust users for bench/bench_locust.py: the registration-window mix.

70 % ID verifications of fictional holders photographed like the golden set (made
by bench_locust.py; each user verifies its own two holders under its own X-End-User,
so neither the per-number nor the per-requester limits interfere), 30 % certificate
work: a one-file batch upload followed by status polls until it completes.

Answers 429/503 are counted as "shed" (with their Retry-After), not as errors: the
question past the sustainable rate is whether the service sheds load cleanly or
lets requests time out. Anything else that is not 200/202 is an error.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

from locust import HttpUser, between, constant, events, task

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "samples" / "golden" / "id"
CERTS = ROOT / "samples" / "golden" / "certificates"
API_KEY = os.environ["BENCH_API_KEY"]
THINK = float(os.environ.get("BENCH_THINK_S", "0"))


def _load_pairs() -> list[tuple[bytes, bytes, str, str]]:
    """Holders made by bench_locust.py (BENCH_ID_DIR), else the golden verified pairs."""
    folder = os.environ.get("BENCH_ID_DIR")
    if folder:
        people = json.loads((Path(folder) / "people.json").read_text())
        return [
            (
                (Path(folder) / f"{p['seed']}_front.jpg").read_bytes(),
                (Path(folder) / f"{p['seed']}_back.jpg").read_bytes(),
                p["name"],
                p["number"],
            )
            for p in people
        ]
    manifest = json.loads((GOLDEN / "manifest.json").read_text())
    return [
        (
            (GOLDEN / p["front"]).read_bytes(),
            (GOLDEN / p["back"]).read_bytes(),
            p["declared_name"],
            p["declared_id_number"],
        )
        for p in manifest["pairs"]
        if p["expected_status"] == "verified" and "4000x3000" not in p["front"]
    ]


ID_PAIRS = _load_pairs()
_next_user = iter(range(1_000_000))
CERT_FILES = [(p.name, p.read_bytes()) for p in sorted(CERTS.glob("*.jpg")) if "+" in p.name]

SHED: dict[str, list[float]] = {"429": [], "503": []}
# ID verifications by how they ended, with their latency in seconds: answered (200), or
# refused (503) at once at admission or only after waiting (admitted, then out of time).
ID_OUTCOMES: dict[str, list[float]] = {"answered": [], "refused": []}


def _shed(response) -> bool:  # type: ignore[no-untyped-def]
    if response.status_code in (429, 503):
        SHED[str(response.status_code)].append(float(response.headers.get("retry-after") or -1))
        return True
    return False


class Applicant(HttpUser):
    wait_time = between(THINK, THINK * 1.5) if THINK else constant(0)

    def on_start(self) -> None:
        self.client.headers.update({"X-API-Key": API_KEY})
        self.end_user = f"bench-{random.getrandbits(48):012x}"
        # each user verifies its own two holders (distinct numbers across users, when
        # there are enough), as applicants do
        n = next(_next_user)
        self.pairs = [ID_PAIRS[(2 * n) % len(ID_PAIRS)], ID_PAIRS[(2 * n + 1) % len(ID_PAIRS)]]

    @task(7)
    def verify_id(self) -> None:
        front, back, name, number = random.choice(self.pairs)
        with self.client.post(
            "/v1/id-verifications",
            name="POST /v1/id-verifications",
            headers={"X-End-User": self.end_user},
            files={
                "front": ("front.jpg", front, "image/jpeg"),
                "back": ("back.jpg", back, "image/jpeg"),
            },
            data={"declared_name": name, "declared_id_number": number},
            catch_response=True,
            timeout=60,
        ) as r:
            elapsed = r.elapsed.total_seconds()
            if r.status_code == 200:
                ID_OUTCOMES["answered"].append(elapsed)
            elif r.status_code == 503:
                ID_OUTCOMES["refused"].append(elapsed)
            if _shed(r):
                r.failure(f"shed {r.status_code}")
            elif r.status_code != 200 or r.json().get("status") != "verified":
                r.failure(f"{r.status_code} {r.text[:120]}")

    @task(3)
    def certificate_batch(self) -> None:
        name, data = random.choice(CERT_FILES)
        with self.client.post(
            "/v1/certificate-batches",
            name="POST /v1/certificate-batches",
            files=[("files", (name, data, "image/jpeg"))],
            catch_response=True,
            timeout=60,
        ) as r:
            if _shed(r):
                r.failure(f"shed {r.status_code}")
                return
            if r.status_code != 202:
                r.failure(f"{r.status_code} {r.text[:120]}")
                return
            batch_id = r.json()["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self.client.get(
                f"/v1/certificate-batches/{batch_id}",
                name="GET /v1/certificate-batches/{id}",
                catch_response=True,
                timeout=30,
            ) as r:
                if _shed(r):
                    r.failure(f"shed {r.status_code}")
                    return
                if r.status_code != 200:
                    r.failure(f"{r.status_code} {r.text[:120]}")
                    return
                if r.json()["status"] in ("completed", "failed"):
                    return
            time.sleep(0.5)


@events.quitting.add_listener
def _write_shed(environment, **_kw) -> None:  # type: ignore[no-untyped-def]
    out = os.environ.get("BENCH_SHED_FILE")
    if out:
        Path(out).write_text(json.dumps({**SHED, "id_outcomes": ID_OUTCOMES}))
