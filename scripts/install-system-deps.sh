#!/usr/bin/env bash
# System packages the tests use for real: Redis (Celery broker), PostgreSQL (production
# database), Debian's Chromium (dashboard browser tests) and CJK fonts (sample generators).
# The extra CJK faces (WenQuanYi, AR PL) are what samples/id_random draws cards with.
set -euo pipefail
packages=(redis-server postgresql chromium fonts-noto-cjk fonts-dejavu-core
  fonts-wqy-zenhei fonts-wqy-microhei fonts-arphic-ukai fonts-arphic-uming)
# promtool (Debian's prometheus package) checks docs/monitoring/alerts.yml; its server never runs.
packages+=(prometheus)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present: ${packages[*]}"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
