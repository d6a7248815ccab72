"""Locust users for bench/bench_locust.py (pick one class on the command line).

* ``Applicant`` (closed loop, the registration-window mix): 70 % ID verifications of
  fictional holders photographed like the golden set (made by bench_locust.py; each user
  verifies its own two holders under its own X-End-User, so neither the per-number nor the
  per-requester limits interfere), 30 % certificate work: a one-file batch upload followed
  by status polls until it completes. Each user sends its next request when the last one is
  answered.
* ``IdApplicant`` (closed loop, ID verifications only): keeps the ID queue busy; what it
  gets answered per second is the sustainable rate.
* ``Arrival`` (open loop): requests arrive at a fixed rate whatever the answers. Each user
  sends one request every ``BENCH_PACING_S`` seconds on a fixed schedule; users start spread
  over the first interval, so ``users / BENCH_PACING_S`` requests arrive per second. The
  pacing is longer than any answer can take (the deadline), so no arrival waits on an
  answer; one that had to is counted in ``late_arrivals`` (the run is then not open loop).
  A ``BENCH_CERT_SHARE`` of the users upload a one-file certificate batch instead (no
  polling: the batch runs in the background pool).

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
from typing import Any

from locust import HttpUser, between, constant, events, task

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "samples" / "golden" / "id"
CERTS = ROOT / "samples" / "golden" / "certificates"
API_KEY = os.environ["BENCH_API_KEY"]
THINK = float(os.environ.get("BENCH_THINK_S", "0"))
PACING_S = float(os.environ.get("BENCH_PACING_S", "30"))
CERT_SHARE = float(os.environ.get("BENCH_CERT_SHARE", "0"))
LATE_BY_S = 0.5  # an arrival this far behind its schedule waited on an answer


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
# Every ID verification as it ended: HTTP status, seconds from sending to the answer, the
# error code of a refusal (QUEUE_UNAVAILABLE at admission, DEADLINE_EXCEEDED after waiting)
# and its Retry-After; status 0 is a request that got no answer (timeout, connection).
ID_OUTCOMES: list[dict[str, Any]] = []
CERT_OUTCOMES: list[dict[str, Any]] = []
LATE_ARRIVALS: list[float] = []
STARTED: list[float] = []


@events.test_start.add_listener
def _started(environment, **_kw) -> None:  # type: ignore[no-untyped-def]
    STARTED.append(time.time())


def _shed(response) -> bool:  # type: ignore[no-untyped-def]
    if response.status_code in (429, 503):
        SHED[str(response.status_code)].append(float(response.headers.get("retry-after") or -1))
        return True
    return False


def _outcome(response) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    code = None
    if response.status_code >= 400:
        try:
            code = response.json()["error"]["code"]
        except Exception:  # not our error body (a dropped connection has none)
            code = None
    retry_after = response.headers.get("retry-after") if response.status_code else None
    return {
        "t": round(time.time(), 3),  # when the answer came
        "status": response.status_code,
        "s": round(response.elapsed.total_seconds(), 3) if response.status_code else None,
        "code": code,
        "retry_after": int(retry_after) if retry_after and retry_after.isdigit() else None,
    }


def _verify_id(user: HttpUser, pairs: list[tuple[bytes, bytes, str, str]], end_user: str) -> None:
    front, back, name, number = random.choice(pairs)
    sent = time.monotonic()
    with user.client.post(
        "/v1/id-verifications",
        name="POST /v1/id-verifications",
        headers={"X-End-User": end_user},
        files={
            "front": ("front.jpg", front, "image/jpeg"),
            "back": ("back.jpg", back, "image/jpeg"),
        },
        data={"declared_name": name, "declared_id_number": number},
        catch_response=True,
        timeout=60,
    ) as r:
        outcome = _outcome(r)
        if outcome["s"] is None:
            outcome["s"] = round(time.monotonic() - sent, 3)
        if r.status_code == 200:
            outcome["verified"] = r.json().get("status") == "verified"
        ID_OUTCOMES.append(outcome)
        if _shed(r):
            r.failure(f"shed {r.status_code}")
        elif r.status_code != 200 or not outcome["verified"]:
            r.failure(f"{r.status_code} {r.text[:120]}")


def _upload_certificate(user: HttpUser) -> str | None:
    """A one-file batch; its id when accepted (202)."""
    name, data = random.choice(CERT_FILES)
    with user.client.post(
        "/v1/certificate-batches",
        name="POST /v1/certificate-batches",
        files=[("files", (name, data, "image/jpeg"))],
        catch_response=True,
        timeout=60,
    ) as r:
        CERT_OUTCOMES.append(_outcome(r))
        if _shed(r):
            r.failure(f"shed {r.status_code}")
            return None
        if r.status_code != 202:
            r.failure(f"{r.status_code} {r.text[:120]}")
            return None
        return str(r.json()["id"])


class _Holder(HttpUser):
    abstract = True

    def on_start(self) -> None:
        self.client.headers.update({"X-API-Key": API_KEY})
        self.end_user = f"bench-{random.getrandbits(48):012x}"
        # each user verifies its own two holders (distinct numbers across users, when
        # there are enough), as applicants do
        self.n = next(_next_user)
        self.pairs = [
            ID_PAIRS[(2 * self.n) % len(ID_PAIRS)],
            ID_PAIRS[(2 * self.n + 1) % len(ID_PAIRS)],
        ]


class Applicant(_Holder):
    wait_time = between(THINK, THINK * 1.5) if THINK else constant(0)

    @task(7)
    def verify_id(self) -> None:
        _verify_id(self, self.pairs, self.end_user)

    @task(3)
    def certificate_batch(self) -> None:
        batch_id = _upload_certificate(self)
        if batch_id is None:
            return
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


class IdApplicant(_Holder):
    wait_time = constant(0)

    @task
    def verify_id(self) -> None:
        _verify_id(self, self.pairs, self.end_user)


class Arrival(_Holder):
    """Open loop: one request every PACING_S seconds on this user's fixed schedule."""

    def on_start(self) -> None:
        super().on_start()
        # spread the certificate users evenly among the others
        self.uploads = int((self.n + 1) * CERT_SHARE) > int(self.n * CERT_SHARE)
        self.next_at = time.monotonic()

    def wait_time(self) -> float:
        self.next_at += PACING_S
        delay = self.next_at - time.monotonic()
        if delay < -LATE_BY_S:
            LATE_ARRIVALS.append(round(-delay, 2))
        return max(0.0, delay)

    @task
    def arrive(self) -> None:
        if self.uploads:
            _upload_certificate(self)
        else:
            _verify_id(self, self.pairs, self.end_user)


@events.quitting.add_listener
def _write_shed(environment, **_kw) -> None:  # type: ignore[no-untyped-def]
    out = os.environ.get("BENCH_SHED_FILE")
    if out:
        Path(out).write_text(
            json.dumps(
                {
                    **SHED,
                    "id_outcomes": ID_OUTCOMES,
                    "cert_outcomes": CERT_OUTCOMES,
                    "late_arrivals": LATE_ARRIVALS,
                    "started": STARTED[0] if STARTED else None,
                }
            )
        )
