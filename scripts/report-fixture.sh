#!/usr/bin/env bash
# Rebuilds the report tests' fixture (services/report/tests/common/fixture.sql) through the real
# pipeline: feeds the known corpus (services/report/tests/data/corpus.jsonl) with newsflow-feed
# into topics of its own on the local broker, runs newsflow-dedup and newsflow-extract (debug
# builds) against a fresh database until every article is extracted, normalises what varies
# from run to run (services/report/tests/common/normalise.sql) and writes the rows the report
# views read as INSERT statements, in a fixed order. Rerun it whenever the pipeline's output
# changes (tests/fixture_fresh.rs fails until you do) and review the diff.
#   REPORT_FIXTURE_OUT   where to write (default: the fixture itself)
#   REPORT_FIXTURE_KEEP  1 = keep the database newsflow_report_fixture afterwards
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"

corpus=services/report/tests/data/corpus.jsonl
normalise=services/report/tests/common/normalise.sql
out=${REPORT_FIXTURE_OUT:-services/report/tests/common/fixture.sql}
admin_db=postgres://postgres@127.0.0.1:5432/postgres
db=newsflow_report_fixture
run=reportfixture$(date +%s)
work=$(mktemp -d)

log() { printf '[report-fixture] %s\n' "$*" >&2; }

# The broker (installed and started when missing), Postgres, and the debug binaries.
NEWSFLOW_PROFILE=dev scripts/stack.sh up
bin="${CARGO_TARGET_DIR:-$root/target}/debug"
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db

psql "$admin_db" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
"$bin/newsflow-dedup" migrate >/dev/null

# One partition per topic and one replica per service: the corpus is processed in the order
# of its lines, so article ids, originals and stories come out the same on every run.
export NEWSFLOW_BROKERS=127.0.0.1:9092
export NEWSFLOW_INPUT_TOPIC=$run.news.articles.raw
export NEWSFLOW_OUTPUT_TOPIC=$run.news.articles
export NEWSFLOW_ARTICLES_TOPIC=$NEWSFLOW_OUTPUT_TOPIC
export NEWSFLOW_DUPLICATES_TOPIC=$run.news.articles.duplicates
export NEWSFLOW_DLQ_TOPIC=$run.news.articles.dlq
export NEWSFLOW_EVENTS_TOPIC=$run.news.events
export NEWSFLOW_ADMIN_ADDR=127.0.0.1:0
"$bin/newsflow-feed" topics --partitions 1 \
  --topic "$NEWSFLOW_INPUT_TOPIC" --topic "$NEWSFLOW_OUTPUT_TOPIC" \
  --topic "$NEWSFLOW_DUPLICATES_TOPIC" --topic "$NEWSFLOW_DLQ_TOPIC" --topic "$NEWSFLOW_EVENTS_TOPIC" >&2

pids=()
stop() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop
  rm -rf "$work"
  if [ "${REPORT_FIXTURE_KEEP:-0}" != 1 ]; then
    psql "$admin_db" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  fi
}
trap cleanup EXIT

"$bin/newsflow-feed" jsonl --quiet "$corpus" >&2
NEWSFLOW_GROUP=$run-dedup NEWSFLOW_INSTANCE_ID=dedup-0 "$bin/newsflow-dedup" run >"$work/dedup.log" 2>&1 &
pids+=($!)
NEWSFLOW_GROUP=$run-extract NEWSFLOW_INSTANCE_ID=extract-0 "$bin/newsflow-extract" run >"$work/extract.log" 2>&1 &
pids+=($!)

# Done when every input line is an article or a rejected message, every original is
# extracted, extract has consumed one message per article (originals on the articles topic,
# copy notices on the duplicates topic) and the outbox is drained.
inputs=$(grep -cv '^[[:space:]]*$' "$corpus")
log "waiting until all $inputs input messages are through dedup and extract"
done=
for _ in $(seq 1 600); do
  state=$(psql "$DATABASE_URL" -tAc "
    SELECT (SELECT count(*) FROM articles) + (SELECT count(*) FROM rejected_messages
                                              WHERE src_topic = '$NEWSFLOW_INPUT_TOPIC') = $inputs
       AND NOT EXISTS (SELECT 1 FROM articles WHERE duplicate_of IS NULL AND extracted_at IS NULL)
       AND NOT EXISTS (SELECT 1 FROM outbox)
       AND (SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets
             WHERE consumer_group = '$run-extract') >= (SELECT count(*) FROM articles)")
  if [ "$state" = t ]; then done=1; break; fi
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || { log "a service exited early"; tail -n 30 "$work"/*.log >&2; exit 1; }
  done
  sleep 0.5
done
if [ -z "$done" ]; then
  log "the pipeline did not finish within 5 minutes; service logs:"
  tail -n 30 "$work"/*.log >&2
  exit 1
fi
stop

psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -q -f "$normalise" >/dev/null

# The rows as INSERT statements with every column named, one per row, in a fixed order;
# then the sequences, so tests that insert rows get fresh ids. The tables the views do not
# read (article_bands, story_terms, consumer_offsets, outbox) are left out, and so are the
# stories' term vectors and postings days (`terms`, `terms_day`: extract's lookup state).
dump() {
  psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qAt <<'SQL'
SET TimeZone = 'UTC';
SET extra_float_digits = 1;
-- A column's value as an SQL literal: numbers and booleans bare, the rest quoted.
CREATE FUNCTION pg_temp.literal(v json) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
    SELECT CASE json_typeof(v)
               WHEN 'null' THEN 'NULL'
               WHEN 'number' THEN v::text
               WHEN 'boolean' THEN v::text
               WHEN 'string' THEN quote_literal(v #>> '{}')
               ELSE quote_literal(v::text)
           END
$fn$;
CREATE FUNCTION pg_temp.insert_statements(tbl text, order_by text) RETURNS SETOF text
LANGUAGE plpgsql AS $fn$
DECLARE
    cols text;
    overriding text;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum),
           CASE WHEN bool_or(attidentity = 'a') THEN ' OVERRIDING SYSTEM VALUE' ELSE '' END
      INTO cols, overriding
      FROM pg_attribute
     WHERE attrelid = tbl::regclass AND attnum > 0 AND NOT attisdropped
       AND attname NOT IN ('terms', 'terms_day');
    RETURN QUERY EXECUTE format(
        'SELECT format(%L, (SELECT string_agg(pg_temp.literal(j.value), '', '' ORDER BY j.n)
                              FROM json_each(row_to_json(t)) WITH ORDINALITY AS j(key, value, n)
                             WHERE j.key NOT IN (''terms'', ''terms_day'')))
           FROM %I t ORDER BY %s',
        'INSERT INTO ' || tbl || ' (' || cols || ')' || overriding || ' VALUES (%s);', tbl, order_by);
END
$fn$;
SELECT pg_temp.insert_statements('coder_versions', 'version');
SELECT pg_temp.insert_statements('stories', 'id');
SELECT pg_temp.insert_statements('articles', 'id');
SELECT pg_temp.insert_statements('event_versions', 'event_id, coder_version');
SELECT pg_temp.insert_statements('event_mention_versions', 'id');
SELECT pg_temp.insert_statements('rejected_messages', 'id');
SELECT format('SELECT setval(pg_get_serial_sequence(%L, %L), %s);', t, 'id', n)
  FROM (VALUES ('articles', (SELECT max(id) FROM articles)),
               ('stories', (SELECT max(id) FROM stories)),
               ('event_mention_versions', (SELECT max(id) FROM event_mention_versions)),
               ('rejected_messages', (SELECT max(id) FROM rejected_messages))) AS s(t, n)
 WHERE n IS NOT NULL;
SQL
}

{
  echo "-- GENERATED by scripts/report-fixture.sh: do not edit; rerun the script and review the diff."
  echo "-- What the real pipeline (newsflow-feed jsonl, newsflow-dedup, newsflow-extract) makes of"
  echo "-- services/report/tests/data/corpus.jsonl: the tables the report views read, with run-dependent"
  echo "-- values normalised by services/report/tests/common/normalise.sql. tests/fixture_fresh.rs checks"
  echo "-- that a fresh run still gives these rows."
  echo
  dump
} >"$work/fixture.sql"
mv "$work/fixture.sql" "$out"
log "wrote $out ($(grep -c '^INSERT' "$out") rows)"
