#!/usr/bin/env bash
# Dependency audit: pip-audit over the installed environment, plus version floors.
#
#   scripts/audit.sh              # audit .venv; exit 1 on any unwaived finding
#   AUDIT_REQUIRE_SERVICE=1 scripts/audit.sh   # also fail (exit 2) when the audit could not run
#
# Exit status: 0 clean (or audit unavailable, loudly reported), 1 a known vulnerability
# without a valid waiver or a package below its floor, 2 the vulnerability service could
# not be reached and AUDIT_REQUIRE_SERVICE=1, 3 a malformed or expired waiver file.
# Waivers: audit-waivers.txt (format in that file). Floors: FLOORS below, each with the
# advisories it closes.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-.venv/bin/python}"
PIP_AUDIT="${PIP_AUDIT:-.venv/bin/pip-audit}"
WAIVERS="${WAIVERS:-audit-waivers.txt}"
SERVICE="${AUDIT_SERVICE:-pypi}"   # pypi | osv
REPORT="$(mktemp)"
trap 'rm -f "$REPORT" "$REPORT.err"' EXIT

set +e
"$PIP_AUDIT" --progress-spinner off --vulnerability-service "$SERVICE" -f json -o "$REPORT" \
    --skip-editable 2>"$REPORT.err"
AUDIT_RC=$?
set -e
if [ ! -s "$REPORT" ]; then
    echo '{"dependencies": [], "fixes": [], "error": true}' > "$REPORT"
fi

"$PYTHON" - "$REPORT" "$WAIVERS" "$AUDIT_RC" "$REPORT.err" <<'PY'
import json
import os
import re
import sys
from datetime import date
from importlib.metadata import PackageNotFoundError, version

report_path, waivers_path, audit_rc, err_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

# Floors: the lowest version we accept, and what it closes. Checked without any network.
FLOORS = {
    # Starlette: multipart DoS (CVE-2024-47874, 0.40.0), large-upload blocking (CVE-2025-54121,
    # 0.47.2), Range DoS in FileResponse (CVE-2025-62727, 0.49.1), Host-header path poisoning
    # (CVE-2026-48710, 1.0.1), urlencoded form limits ignored -> DoS (CVE-2026-54283, 1.3.1).
    "starlette": "1.3.1",
    # python-multipart: ReDoS (CVE-2024-24762, 0.0.7), CR/LF boundary DoS (CVE-2024-53981,
    # 0.0.18), file write (CVE-2026-24486, 0.0.22), preamble/epilogue CPU DoS (CVE-2026-40347,
    # 0.0.26), excessive part headers DoS (CVE-2026-42561, 0.0.27), querystring DoS and ';'
    # separator (GHSA-5rvq-cxj2-64vf, GHSA-6jv3-5f52-599m, 0.0.30), negative Content-Length
    # (GHSA-v9pg-7xvm-68hf, 0.0.31).
    "python-multipart": "0.0.31",
    # Pillow: kept current; 11.3.0 fixed the DDS write overflow (CVE-2025-48379); 13.0 is current.
    "pillow": "13.0.0",
    # h11: request smuggling via chunked trailers (CVE-2025-43859, 0.16.0).
    "h11": "0.16.0",
    "jinja2": "3.1.6",
}


def parse_version(text):
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.+-]", text)[:4])


problems = []
for package, floor in FLOORS.items():
    try:
        installed = version(package)
    except PackageNotFoundError:
        continue
    if parse_version(installed) < parse_version(floor):
        problems.append(f"FLOOR {package} {installed} < {floor}")

waivers = {}
today = date.today()
bad_waivers = []
if os.path.exists(waivers_path):
    for n, line in enumerate(open(waivers_path, encoding="utf-8"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("|")]
        if len(fields) != 5 or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", fields[2]) or not fields[4]:
            bad_waivers.append(f"{waivers_path}:{n}: want 'ID | package | YYYY-MM-DD | who | why'")
            continue
        expires = date.fromisoformat(fields[2])
        if expires < today:
            bad_waivers.append(f"{waivers_path}:{n}: waiver for {fields[0]} expired on {expires}")
            continue
        waivers[(fields[0].upper(), fields[1].lower())] = fields

report = json.load(open(report_path))
deps = report.get("dependencies", [])
audited = [d for d in deps if "skip_reason" not in d]
findings, waived = [], []
for dep in audited:
    for vuln in dep.get("vulns", []):
        ids = {vuln["id"].upper(), *(a.upper() for a in vuln.get("aliases", []))}
        key = next(((i, dep["name"].lower()) for i in ids if (i, dep["name"].lower()) in waivers), None)
        line = f"{dep['name']} {dep['version']}: {vuln['id']} fixed in {', '.join(vuln.get('fix_versions', [])) or '?'}"
        (waived if key else findings).append(line)

print(f"pip-audit: {len(audited)} of {len(deps)} installed distributions audited")
for line in waived:
    print(f"  waived   {line}")
for line in findings:
    print(f"  VULNERABLE {line}")
for line in problems:
    print(f"  {line}")
for line in bad_waivers:
    print(f"  WAIVER {line}")

unavailable = not audited
if unavailable:
    err = open(err_path, encoding="utf-8", errors="replace").read().strip().splitlines()
    print("!" * 78)
    print("! AUDIT NOT PERFORMED: the vulnerability service could not be reached or knows none")
    print("! of the installed packages (every dependency was skipped). 'No known")
    print("! vulnerabilities' from pip-audit means nothing here. Floors were still checked.")
    if err:
        print("! pip-audit said: " + err[-1][:200])
    print("!" * 78)

if bad_waivers:
    sys.exit(3)
if findings or problems:
    sys.exit(1)
if unavailable and os.environ.get("AUDIT_REQUIRE_SERVICE") == "1":
    sys.exit(2)
print("audit: ok" + (" (floors only)" if unavailable else ""))
PY
