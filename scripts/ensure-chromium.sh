#!/usr/bin/env bash
# Installs Debian's headless-capable `chromium` (used by the report service's HTML page test)
# when /usr/bin/chromium is missing. Idempotent; needs root (CI and the dev machines are root).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
log() { printf '[ensure-chromium] %s\n' "$*" >&2; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
# One installer at a time: parallel tests may all call this script.
exec 9>/tmp/newsflow-ensure-chromium.lock
flock 9
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
log "installing chromium and fonts-dejavu-core with apt-get (takes a minute or two)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
test -x /usr/bin/chromium
