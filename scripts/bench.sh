#!/usr/bin/env bash
# Measures newsflow's throughput and memory on the local stack, reproducibly:
#   1. core logic, one thread: dedup (parse + normalise + sketch) and event coding, articles/s
#   2. the dedup service over a backlog of BENCH_ARTICLES synthetic articles (~30% duplicates)
#      in Kafka, through broker and Postgres: articles/s, CPU seconds per 1,000, peak RSS
#   3. the extract service over the originals dedup forwarded: the same figures
#   4. with BENCH_REPLICAS=2 (or more), the same service runs with that many replicas
# Usage: scripts/bench.sh            (BENCH_ARTICLES=100000, BENCH_REPLICAS=1 by default)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
n=${BENCH_ARTICLES:-100000}
replicas=${BENCH_REPLICAS:-1}
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

# Runs `replicas` replicas of one service over the backlog until `done_sql` is true; prints
# throughput, CPU per 1,000 articles (all replicas) and the largest replica's peak RSS.
measure() {
  local name=$1 done_sql=$2 count_sql=$3
  local start end pids=() i
  start=$(date +%s.%N)
  for i in $(seq 0 $((replicas - 1))); do
    NEWSFLOW_ADMIN_ADDR=127.0.0.1:$((9190 + i)) NEWSFLOW_GROUP=$run-$name NEWSFLOW_INSTANCE_ID=$name-$i \
      /usr/bin/time -v -o "$work/$name-$i.time" "$bin/newsflow-$name" run >"$work/$name-$i.log" 2>&1 &
    pids+=($!)
  done
  until [ "$(q "$done_sql")" = "t" ]; do
    for p in "${pids[@]}"; do
      if ! kill -0 "$p" 2>/dev/null; then echo "$name died; see $work/$name-*.log" >&2; exit 1; fi
    done
    sleep 0.5
  done
  end=$(date +%s.%N)
  for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" || true; done
  local secs count cpu rss
  secs=$(echo "$end - $start" | bc)
  count=$(q "$count_sql")
  cpu=$(cat "$work/$name"-*.time | awk -F': ' '/User time/ {t += $2} /System time/ {t += $2} END {print t}')
  rss=$(cat "$work/$name"-*.time | awk -F': ' '/Maximum resident set size/ {if ($2 > m) m = $2} END {print m}')
  printf '%-8s x%d %8d articles in %7.1f s = %8.0f articles/s | CPU %6.1f s = %5.2f s per 1,000 | peak RSS %6.1f MB\n' \
    "$name" "$replicas" "$count" "$secs" "$(echo "$count / $secs" | bc -l)" "$cpu" "$(echo "$cpu * 1000 / $count" | bc -l)" \
    "$(echo "$rss / 1024" | bc -l)"
}

echo "== services over the backlog ($replicas replica(s) each, 4 partitions)"
measure dedup "SELECT (SELECT count(*) FROM articles) + (SELECT count(*) FROM rejected_messages) >= $n AND NOT EXISTS (SELECT 1 FROM outbox)" \
  "SELECT count(*) FROM articles"
originals=$(q "SELECT count(*) FROM articles WHERE duplicate_of IS NULL")
measure extract "SELECT count(*) = 0 FROM articles WHERE duplicate_of IS NULL AND extracted_at IS NULL" \
  "SELECT count(*) FROM articles WHERE duplicate_of IS NULL"
echo "events: $(q "SELECT count(*) FROM events"), mentions: $(q "SELECT count(*) FROM event_mentions"), stories: $(q "SELECT count(*) FROM stories")"
echo "dedup quality: $("$bin/newsflow-feed" score --truth "$work/truth.jsonl" | tr -d '\n ' | grep -oE '"precision":[0-9.]+,"recall":[0-9.]+')"
