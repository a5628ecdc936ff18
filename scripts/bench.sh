#!/usr/bin/env bash
# Measures newsflow's throughput and memory on the local stack, reproducibly:
#   1. core logic, one thread: dedup (parse + normalise + sketch) and event coding, articles/s
#   2. the dedup service over a backlog of BENCH_ARTICLES synthetic articles (~30% duplicates)
#      in Kafka, through broker and Postgres: articles/s, CPU seconds per 1,000, peak RSS
#   3. the extract service over the originals dedup forwarded: the same figures
# Usage: scripts/bench.sh            (BENCH_ARTICLES=100000 by default)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
n=${BENCH_ARTICLES:-100000}
words=${BENCH_WORDS:-600}
run=bench$(date +%s)
work="$root/.local/$run"
mkdir -p "$work"
admin_db=postgres://postgres@127.0.0.1:5432/postgres
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/newsflow_bench

scripts/stack.sh up
cargo build --release -q -p newsflow-core --examples
bin="$root/target/release"

echo "== core logic (one thread)"
"$bin/examples/dedup_bench" 20000 | tail -n 6
"$bin/examples/coding_bench" | tail -n 6

psql "$admin_db" -qc "DROP DATABASE IF EXISTS newsflow_bench WITH (FORCE)" -c "CREATE DATABASE newsflow_bench"
"$bin/newsflow-dedup" migrate >/dev/null
export NEWSFLOW_BROKERS=127.0.0.1:9092 NEWSFLOW_LOG_FORMAT=json
export NEWSFLOW_INPUT_TOPIC=$run.raw NEWSFLOW_OUTPUT_TOPIC=$run.articles NEWSFLOW_ARTICLES_TOPIC=$run.articles
export NEWSFLOW_DUPLICATES_TOPIC=$run.duplicates NEWSFLOW_DLQ_TOPIC=$run.dlq NEWSFLOW_EVENTS_TOPIC=$run.events
"$bin/newsflow-feed" topics --partitions 4 --topic "$NEWSFLOW_INPUT_TOPIC" --topic "$NEWSFLOW_OUTPUT_TOPIC" \
  --topic "$NEWSFLOW_DUPLICATES_TOPIC" --topic "$NEWSFLOW_DLQ_TOPIC" --topic "$NEWSFLOW_EVENTS_TOPIC" >/dev/null

echo "== producing $n synthetic articles (~$words words, 30% duplicates)"
start=$(date +%s.%N)
"$bin/newsflow-feed" synth --count "$n" --mean-words "$words" --seed 7 --quiet --truth "$work/truth.jsonl"
end=$(date +%s.%N)
echo "produced in $(echo "$end - $start" | bc) s"

q() { psql "$DATABASE_URL" -tAc "$1"; }

# Runs one service over the backlog until `done_sql` is true; prints its figures.
measure() {
  local name=$1 done_sql=$2 count_sql=$3
  local start end
  start=$(date +%s.%N)
  NEWSFLOW_ADMIN_ADDR=127.0.0.1:9190 NEWSFLOW_GROUP=$run-$name NEWSFLOW_INSTANCE_ID=$name-0 \
    /usr/bin/time -v -o "$work/$name.time" "$bin/newsflow-$name" run >"$work/$name.log" 2>&1 &
  local pid=$!
  until [ "$(q "$done_sql")" = "t" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "$name died; see $work/$name.log" >&2; exit 1; fi
    sleep 0.5
  done
  end=$(date +%s.%N)
  kill -TERM "$(pgrep -P "$pid" -f "newsflow-$name" || echo "$pid")" 2>/dev/null || true
  wait "$pid" || true
  local secs count cpu rss
  secs=$(echo "$end - $start" | bc)
  count=$(q "$count_sql")
  cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u + s}' "$work/$name.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/$name.time")
  printf '%-8s %8d articles in %7.1f s = %8.0f articles/s | CPU %6.1f s = %5.2f s per 1,000 | peak RSS %6.1f MB\n' \
    "$name" "$count" "$secs" "$(echo "$count / $secs" | bc -l)" "$cpu" "$(echo "$cpu * 1000 / $count" | bc -l)" \
    "$(echo "$rss / 1024" | bc -l)"
}

echo "== services over the backlog (1 replica each, 4 partitions)"
measure dedup "SELECT (SELECT count(*) FROM articles) + (SELECT count(*) FROM rejected_messages) >= $n AND NOT EXISTS (SELECT 1 FROM outbox)" \
  "SELECT count(*) FROM articles"
originals=$(q "SELECT count(*) FROM articles WHERE duplicate_of IS NULL")
measure extract "SELECT count(*) = 0 FROM articles WHERE duplicate_of IS NULL AND extracted_at IS NULL" \
  "SELECT count(*) FROM articles WHERE duplicate_of IS NULL"
echo "events: $(q "SELECT count(*) FROM events"), mentions: $(q "SELECT count(*) FROM event_mentions"), stories: $(q "SELECT count(*) FROM stories")"
echo "dedup quality: $("$bin/newsflow-feed" score --truth "$work/truth.jsonl" | tr -d '\n ' | grep -oE '"precision":[0-9.]+,"recall":[0-9.]+')"
