#!/usr/bin/env bash
# Health probe for containers without curl: GET http://127.0.0.1:PORT/PATH over bash's
# /dev/tcp and succeed only on an HTTP 200 status line.
#   newsflow-probe [PATH] [PORT]      defaults: /readyz 9000
# Used by docker-compose health checks; Kubernetes uses its own httpGet probes instead.
set -euo pipefail
path=${1:-/readyz}
port=${2:-9000}
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&3
IFS= read -r -t 5 status <&3
exec 3<&- 3>&-
case "$status" in
  "HTTP/1."?" 200"*) exit 0 ;;
  *) echo "newsflow-probe: $path answered: ${status%$'\r'}" >&2; exit 1 ;;
esac
