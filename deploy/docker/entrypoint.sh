#!/usr/bin/env bash
# Entrypoint of the newsflow images: lets secrets come from files as well as from the
# environment, then execs the command: `exec` replaces this shell, so the service itself is
# PID 1 and receives SIGTERM directly.
#
# For each secret-bearing setting NAME below, NAME_FILE=/path sets NAME to the file's
# contents (trailing newline removed). Setting both NAME and NAME_FILE is an error, so a
# stale value can never silently win. The values are never printed. A setting that is present
# but empty (e.g. `NEWSFLOW_KAFKA_PROPERTIES=` from a compose default) is removed, because the
# services reject an empty property list.
#   DATABASE_URL_FILE                 e.g. a mounted Kubernetes Secret or a compose secret
#   NEWSFLOW_KAFKA_PROPERTIES_FILE    librdkafka key=value pairs, comma separated
set -euo pipefail

for name in DATABASE_URL NEWSFLOW_KAFKA_PROPERTIES; do
  if [ -z "${!name:-}" ]; then unset "$name"; fi
  file_var="${name}_FILE"
  file="${!file_var:-}"
  [ -n "$file" ] || continue
  if [ -n "${!name:-}" ]; then
    echo "newsflow-entrypoint: both $name and $file_var are set; set only one" >&2
    exit 64
  fi
  if [ ! -r "$file" ]; then
    echo "newsflow-entrypoint: $file_var names $file, which is not a readable file" >&2
    exit 66
  fi
  value="$(<"$file")"
  export "$name=$value"
  unset "$file_var"
done

if [ "$#" -eq 0 ]; then
  echo "newsflow-entrypoint: no command given (e.g. newsflow-dedup run)" >&2
  exit 64
fi
exec "$@"
