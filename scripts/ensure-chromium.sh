#!/usr/bin/env bash
# Installs what the report service's tests need from Debian when it is missing: `chromium`
# (the HTML page is checked in headless Chromium) and `fonts-dejavu-core` (chart text, and the
# page's font). Idempotent and quick when both are there; needs root or sudo.
set -euo pipefail

font=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
missing() {
  local packages=()
  [ -x /usr/bin/chromium ] || packages+=(chromium)
  [ -f "$font" ] || packages+=(fonts-dejavu-core)
  echo "${packages[@]:-}"
}

[ -z "$(missing)" ] && exit 0

log() { printf '[ensure-chromium] %s\n' "$*" >&2; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
# One installer at a time: parallel tests may all call this script.
exec 9>/tmp/newsflow-ensure-chromium.lock
flock 9
packages=$(missing)
[ -z "$packages" ] && exit 0
log "installing $packages with apt-get (takes a minute or two)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $packages >&2
[ -z "$(missing)" ] || { log "still missing: $(missing)"; exit 1; }
