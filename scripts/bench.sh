#!/usr/bin/env bash
# Measures newsflow end to end against the limits of what it runs on, in one run:
#   1. core logic on one thread: dedup (parse + normalise + hash + sketch) and event coding
#   2. the limits newsflow cannot beat, for the same messages and rows: the broker's produce
#      and consume throughput, and Postgres's bulk-load (COPY) throughput
#   3. the whole pipeline: BENCH_ARTICLES synthetic ~600-word articles (~30% duplicates of
#      every kind) produced while dedup and extract (BENCH_REPLICAS each) run; articles/s end
#      to end, events/s, latency produce → events committed (p50/p99), CPU seconds per 1,000
#      articles and peak memory per service (at 50,000 articles and at the end), and the
#      pipeline's throughput as a share of the slower limit
# The run has its own broker (Tansu, SQLite engine, 127.0.0.1:9093, deleted afterwards unless
# BENCH_KEEP=1) and its own databases, so it neither disturbs nor is slowed by the test stack.
# Usage: scripts/bench.sh        (BENCH_ARTICLES=200000, BENCH_REPLICAS=2, BENCH_WORDS=600,
#                                 BENCH_RATE=0: the stream produced as fast as the broker takes
#                                 it; N: at most N articles/s, as scrapers publish over time;
#                                 BENCH_BACKLOG=1: the whole stream produced before the services
#                                 start, and the drain measured, so the local broker serves only
#                                 the pipeline while it is measured; latency then includes the
#                                 wait in the backlog)
set -euo pipefail
# The whole script is one brace group, which bash reads to the end before running any of it:
# editing this file while a run is going (a 200,000-article run takes half an hour) then cannot
# change what the running bench executes.
{
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
n=${BENCH_ARTICLES:-200000}
# Two replicas per service, as the stack runs them: extract's replicas store their batches'
# reports side by side (one replica alone leaves the machine's second core half idle).
replicas=${BENCH_REPLICAS:-2}
words=${BENCH_WORDS:-600}
checkpoint=${BENCH_CHECKPOINT:-50000}
offered=${BENCH_RATE:-0}
backlog=${BENCH_BACKLOG:-0}
partitions=$((replicas > 4 ? replicas : 4))
run=bench$(date +%s)
work="$root/.local/$run"
broker_dir="$root/.local/bench-broker"
broker=127.0.0.1:9093
mkdir -p "$work"
admin_db=postgres://postgres@127.0.0.1:5432/postgres
db=postgres://postgres@127.0.0.1:5432/newsflow_bench
limit_db=postgres://postgres@127.0.0.1:5432/newsflow_bench_limit

say() { printf '%s\n' "$*" | tee -a "$work/summary.txt"; }
q() { psql "$1" -tAc "$2"; }
now() { date +%s.%N; }
calc() { echo "$1" | bc -l; }

pids=()
sampler=
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  # The services run under /usr/bin/time, which does not pass signals on.
  for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  NEWSFLOW_BROKER_ADDR=$broker NEWSFLOW_BROKER_DIR=$broker_dir scripts/stack.sh down >/dev/null 2>&1 || true
  if [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$broker_dir"; fi
}
trap cleanup EXIT

# The test stack (broker on 9092, Postgres, release binaries), then a fresh private broker.
scripts/stack.sh up
# A bench broker an earlier run left behind (its clean-up interrupted) would otherwise keep the
# port, and this run would silently use it.
NEWSFLOW_BROKER_ADDR=$broker NEWSFLOW_BROKER_DIR=$broker_dir scripts/stack.sh down >/dev/null 2>&1 || true
rm -rf "$broker_dir"
NEWSFLOW_BROKER_ADDR=$broker NEWSFLOW_BROKER_DIR=$broker_dir NEWSFLOW_PARTITIONS=$partitions scripts/stack.sh up >/dev/null 2>&1
cargo build --release -q -p newsflow-core --examples
bin="$root/target/release"

say "# newsflow benchmark $(date -u +%FT%TZ): $n articles of ~$words words, $replicas replica(s) per service, $partitions partitions"
say "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB; $(psql --version | head -n1); Tansu 0.6.0 (SQLite)"

say "== 1. core logic, one thread"
"$bin/examples/dedup_bench" 20000 | tail -n 6 | tee -a "$work/summary.txt"
"$bin/examples/coding_bench" | tail -n 6 | tee -a "$work/summary.txt"

export NEWSFLOW_BROKERS=$broker NEWSFLOW_LOG_FORMAT=json
# The services run as static members (NEWSFLOW_INSTANCE_ID), whose session is 60 s: under full
# load the local broker answers heartbeats late, and an evicted member can leave the group
# without a leader (RELIABILITY.md). An override of 30 s here evicted dedup mid-run.
export NEWSFLOW_INPUT_TOPIC=$run.raw NEWSFLOW_OUTPUT_TOPIC=$run.articles NEWSFLOW_ARTICLES_TOPIC=$run.articles
export NEWSFLOW_DUPLICATES_TOPIC=$run.duplicates NEWSFLOW_DLQ_TOPIC=$run.dlq NEWSFLOW_EVENTS_TOPIC=$run.events
# The limit topic only: the pipeline's topics are created on the fresh broker of step 3.
"$bin/newsflow-feed" topics --partitions "$partitions" --topic "$run.limit" >/dev/null

# The stream, generated once: the limit and the pipeline get the same bytes.
"$bin/newsflow-feed" synth --count "$n" --mean-words "$words" --seed 7 --no-produce \
  --out "$work/articles.jsonl" --truth "$work/truth.jsonl" >/dev/null
mb=$(calc "$(stat -c %s "$work/articles.jsonl") / 1000000")

say "== 2. limits"
start=$(now)
"$bin/newsflow-feed" jsonl --quiet --topic "$run.limit" "$work/articles.jsonl" >/dev/null
produce_secs=$(calc "$(now) - $start")
produce_rate=$(calc "$n / $produce_secs")
say "$(printf 'broker produce: %d messages (%.0f MB) in %.1f s = %.0f messages/s' "$n" "$mb" "$produce_secs" "$produce_rate")"
consume=$("$bin/newsflow-feed" drain --topic "$run.limit")
consume_rate=$(echo "$consume" | grep -oE '"messages_per_second":[0-9.]+' | cut -d: -f2)
say "$(printf 'broker consume: %.0f messages/s (%s)' "$consume_rate" "$consume")"
broker_limit=$(calc "if ($produce_rate < $consume_rate) $produce_rate else $consume_rate")

# ---- 3. the pipeline
# On a fresh broker file: the limit topic's copy of the stream would double the SQLite file,
# and the local broker slows down as its file grows.
NEWSFLOW_BROKER_ADDR=$broker NEWSFLOW_BROKER_DIR=$broker_dir scripts/stack.sh down >/dev/null 2>&1
while (exec 3<>"/dev/tcp/${broker%:*}/${broker##*:}") 2>/dev/null; do sleep 0.2; done
rm -rf "$broker_dir"
NEWSFLOW_BROKER_ADDR=$broker NEWSFLOW_BROKER_DIR=$broker_dir NEWSFLOW_PARTITIONS=$partitions scripts/stack.sh up >/dev/null 2>&1
"$bin/newsflow-feed" topics --partitions "$partitions" --topic "$NEWSFLOW_INPUT_TOPIC" \
  --topic "$NEWSFLOW_OUTPUT_TOPIC" --topic "$NEWSFLOW_DUPLICATES_TOPIC" --topic "$NEWSFLOW_DLQ_TOPIC" \
  --topic "$NEWSFLOW_EVENTS_TOPIC" >/dev/null
psql "$admin_db" -qc "DROP DATABASE IF EXISTS newsflow_bench WITH (FORCE)" -c "CREATE DATABASE newsflow_bench"
DATABASE_URL=$db "$bin/newsflow-dedup" migrate >/dev/null
# BENCH_PG_PROFILE=1: Postgres logs every statement's time in this database (not the
# parameters), and the summary ends with the statements that took the most
# (scripts/pg-profile.py); logging slows the run somewhat.
pg_log=/var/log/postgresql/postgresql-15-main.log
if [ "${BENCH_PG_PROFILE:-0}" = 1 ]; then
  psql "$admin_db" -qc "ALTER DATABASE newsflow_bench SET log_min_duration_statement = 0" \
    -c "ALTER DATABASE newsflow_bench SET log_parameter_max_length = 0"
  pg_log_start=$(stat -c %s "$pg_log")
fi

# The services run as the images run them: with two malloc arenas (see the Dockerfile).
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
start_service() {
  local name=$1 i=$2
  DATABASE_URL=$db NEWSFLOW_ADMIN_ADDR=127.0.0.1:$((9190 + 10 * ${#pids[@]})) NEWSFLOW_GROUP=$run-$name \
    NEWSFLOW_INSTANCE_ID=$name-$i /usr/bin/time -v -o "$work/$name-$i.time" "$bin/newsflow-$name" run \
    >"$work/$name-$i.log" 2>&1 &
  pids+=($!)
  echo "$name-$i $!" >>"$work/pids"
}
# Where the machine's CPU goes during the run: the whole machine (/proc/stat) and the broker's
# own process, before and after; the services' own CPU comes from /usr/bin/time below.
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
broker_pid=$(cat "$broker_dir/broker.pid")
feed() { /usr/bin/time -v -o "$work/feed.time" "$bin/newsflow-feed" jsonl --quiet --rate "$offered" "$work/articles.jsonl" >/dev/null; }
if [ "$backlog" = 1 ]; then
  # A backlog drained: the broker only serves the pipeline while it is measured.
  say "== 3. pipeline: $n articles produced first, then drained by dedup and extract"
  start=$(now)
  feed
  say "$(printf 'produced in %.1f s; the services start now' "$(calc "$(now) - $start")")"
  mv "$work/feed.time" "$work/feed-backlog.txt"
  read -r busy0 iowait0 all0 <<<"$(machine_ticks)"
  broker0=$(proc_ticks "$broker_pid")
  start=$(now)
fi
for i in $(seq 0 $((replicas - 1))); do start_service dedup "$i"; start_service extract "$i"; done

# Memory sampler: each service's VmHWM (peak RSS so far) when it has handled the first
# BENCH_CHECKPOINT articles of the stream (dedup: that many stored; extract: as many originals
# extracted as that prefix of the stream holds), to compare with its peak at the end. Every
# 10 s it also notes progress (stored articles, extracted originals, outbox backlog) and the
# services' current RSS in MB, to tell which stage holds the pipeline back and whether memory
# grows with the stream or levels off.
extract_mark=$(head -n "$checkpoint" "$work/truth.jsonl" | grep -c '"kind":"original"' || true)
# Progress from the stages' stored offsets (a few rows), not by counting the growing articles
# table: at 200,000 articles those counts, every 2 s, took a good share of a core from the
# Postgres being measured. Messages handled: dedup's input, and extract's originals.
progress_sql="SELECT coalesce(sum(next_offset) FILTER (WHERE consumer_group = '$run-dedup'), 0),
                     coalesce(sum(next_offset) FILTER (WHERE consumer_group = '$run-extract'
                                                         AND topic = '$NEWSFLOW_ARTICLES_TOPIC'), 0)
                FROM consumer_offsets"
echo "seconds dedup_consumed extract_originals outbox rss_dedup_mb rss_extract_mb" >"$work/progress.txt"
(
  marked_dedup=0
  marked_extract=0
  t0=$(date +%s)
  tick=0
  hwm() { # name prefix, field: the largest value of the field over the service's replicas
    while read -r name pid; do
      case $name in "$1"-*) ;; *) continue ;; esac
      child=$(pgrep -P "$pid" | head -n1)
      [ -n "$child" ] && awk -v f="$2:" '$1 == f {print $2}' "/proc/$child/status" 2>/dev/null
    done <"$work/pids" | sort -n | tail -n1
  }
  mb() { local v; v=$(hwm "$1" VmRSS); echo $((${v:-0} / 1024)); }
  while sleep 2; do
    read -r count extracted <<<"$(q "$db" "$progress_sql" 2>/dev/null | tr '|' ' ')"
    tick=$((tick + 1))
    if [ $((tick % 5)) = 0 ]; then
      echo "$(($(date +%s) - t0)) ${count:-0} ${extracted:-0} $(q "$db" "SELECT count(*) FROM outbox" 2>/dev/null) $(mb dedup) $(mb extract)" >>"$work/progress.txt"
    fi
    if [ "$marked_dedup" = 0 ] && [ "${count:-0}" -ge "$checkpoint" ]; then
      echo "dedup $(hwm dedup VmHWM)" >>"$work/rss-checkpoint"
      marked_dedup=1
    fi
    if [ "$marked_extract" = 0 ] && [ "${extracted:-0}" -ge "$extract_mark" ]; then
      echo "extract $(hwm extract VmHWM)" >>"$work/rss-checkpoint"
      marked_extract=1
    fi
  done
) &
sampler=$!

if [ "$backlog" = 1 ]; then
  produced=0
else
  say "== 3. pipeline: producing $n articles while dedup and extract run$([ "$offered" != 0 ] && echo ", offered at $offered articles/s")"
  read -r busy0 iowait0 all0 <<<"$(machine_ticks)"
  broker0=$(proc_ticks "$broker_pid")
  start=$(now)
  feed
  produced=$(calc "$(now) - $start")
fi
done_sql="SELECT (SELECT count(*) FROM articles) + (SELECT count(*) FROM rejected_messages) >= $n
            AND NOT EXISTS (SELECT 1 FROM articles WHERE duplicate_of IS NULL AND extracted_at IS NULL)
            AND NOT EXISTS (SELECT 1 FROM outbox)"
# The full check only once dedup has taken every message and the outbox is empty.
near_sql="SELECT (SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE consumer_group = '$run-dedup') >= $n
            AND NOT EXISTS (SELECT 1 FROM outbox)"
until [ "$(q "$db" "$near_sql")" = "t" ] && [ "$(q "$db" "$done_sql")" = "t" ]; do
  for p in "${pids[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then say "a service died; see $work/*.log"; exit 1; fi
  done
  sleep 2  # a count over a growing table: often enough, without loading Postgres
done
secs=$(calc "$(now) - $start")
read -r busy1 iowait1 all1 <<<"$(machine_ticks)"
broker1=$(proc_ticks "$broker_pid")
kill "$sampler" 2>/dev/null || true
for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" || true; done
pids=()

events=$(q "$db" "SELECT count(*) FROM events")
mentions=$(q "$db" "SELECT count(*) FROM event_mentions")
originals=$(q "$db" "SELECT count(*) FROM articles WHERE duplicate_of IS NULL")
rate=$(calc "$n / $secs")
say "$(printf 'pipeline: %d articles (%d originals) in %.1f s (produced in %.1f s) = %.0f articles/s end to end' "$n" "$originals" "$secs" "$produced" "$rate")"
say "$(printf 'events: %d (%d mentions) = %.0f events/s' "$events" "$mentions" "$(calc "$events / $secs")")"
say "latency produce → events committed (originals$([ "$backlog" = 1 ] && echo ', including the wait in the backlog')): $(q "$db" "SELECT format('p50 %s s, p99 %s s, max %s s',
      round(percentile_cont(0.5) WITHIN GROUP (ORDER BY s)::numeric, 2),
      round(percentile_cont(0.99) WITHIN GROUP (ORDER BY s)::numeric, 2), round(max(s)::numeric, 2))
    FROM (SELECT extract(epoch FROM extracted_at - produced_at) AS s FROM articles
           WHERE duplicate_of IS NULL AND produced_at IS NOT NULL) x")"
for name in dedup extract; do
  cpu=$(cat "$work/$name"-*.time | awk -F': ' '/User time/ {t += $2} /System time/ {t += $2} END {print t}')
  rss=$(cat "$work/$name"-*.time | awk -F': ' '/Maximum resident set size/ {if ($2 > m) m = $2} END {print m}')
  at=$(awk -v s="$name" '$1 == s {if ($2 > m) m = $2} END {print m + 0}' "$work/rss-checkpoint" 2>/dev/null || echo 0)
  say "$(printf '%-8s CPU %6.1f s = %5.2f s per 1,000 articles | peak RSS %6.1f MB at %d articles, %6.1f MB at %d' \
    "$name" "$cpu" "$(calc "$cpu * 1000 / $n")" "$(calc "${at:-0} / 1024")" "$checkpoint" "$(calc "$rss / 1024")" "$n")"
done
hz=$(getconf CLK_TCK)
service_cpu=$(cat "$work"/*.time | awk -F': ' '/User time/ {t += $2} /System time/ {t += $2} END {print t}')
feed_cpu=0
if [ -f "$work/feed.time" ]; then
  feed_cpu=$(awk -F': ' '/User time/ {t += $2} /System time/ {t += $2} END {print t + 0}' "$work/feed.time")
fi
machine_cpu=$(calc "($busy1 - $busy0) / $hz")
broker_cpu=$(calc "($broker1 - $broker0) / $hz")
say "$(printf 'machine CPU during the run: %.0f%% busy of %d cores (%.0f%% I/O wait); CPU s: broker %.1f, feed %.1f, services %.1f, the rest (Postgres, mostly) %.1f' \
  "$(calc "100 * ($busy1 - $busy0) / ($all1 - $all0)")" "$(nproc)" "$(calc "100 * ($iowait1 - $iowait0) / ($all1 - $all0)")" \
  "$broker_cpu" "$feed_cpu" "$(calc "$service_cpu - $feed_cpu")" "$(calc "$machine_cpu - $broker_cpu - $service_cpu")")"
say "outbox backlog: largest $(awk 'NR > 1 && $4 > m {m = $4} END {print m + 0}' "$work/progress.txt") rows (progress every 10 s in $work/progress.txt)"
# What Postgres wrote per table during the run (the statistics collector's counters): row
# versions inserted, updated (of which HOT: no index entries), deleted. A row updated or
# deleted and re-inserted costs Postgres the work of a new row, which COPY does not pay.
pg_stat_sql="SELECT format('%s ins %s upd %s (hot %s) del %s', relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del)
               FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd + n_tup_del > 0
              ORDER BY n_tup_ins + n_tup_upd + n_tup_del DESC"
say "rows written by table: $(q "$db" "$pg_stat_sql" | paste -sd ';' | sed 's/;/; /g')"
say "dedup quality: $(DATABASE_URL=$db "$bin/newsflow-feed" score --truth "$work/truth.jsonl" | tr -d '\n ' | grep -oE '"precision":[0-9.]+,"recall":[0-9.]+')"

# ---- Postgres limit: bulk-load the rows the pipeline wrote (same tables, same indexes) with
# COPY, the fastest path into Postgres.
psql "$admin_db" -qc "DROP DATABASE IF EXISTS newsflow_bench_limit WITH (FORCE)" -c "CREATE DATABASE newsflow_bench_limit"
DATABASE_URL=$limit_db "$bin/newsflow-dedup" migrate >/dev/null
tables="coder_versions stories articles article_bands story_terms event_versions event_mention_versions event_sources"
rows=0
for t in $tables; do
  cols=$(q "$db" "SELECT string_agg(quote_ident(column_name), ',' ORDER BY ordinal_position) FROM information_schema.columns
                   WHERE table_schema = 'public' AND table_name = '$t' AND is_identity = 'NO'")
  order=$(q "$db" "SELECT CASE WHEN EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = '$t' AND column_name = 'id') THEN 'ORDER BY id' ELSE '' END")
  psql "$db" -qc "\\copy (SELECT $cols FROM $t $order) TO '$work/$t.copy'"
  rows=$((rows + $(wc -l <"$work/$t.copy")))
done
# Foreign keys: stories before articles (story_id), versions before events; duplicate_of
# references earlier ids.
start=$(now)
for t in $tables; do
  cols=$(q "$db" "SELECT string_agg(quote_ident(column_name), ',' ORDER BY ordinal_position) FROM information_schema.columns
                   WHERE table_schema = 'public' AND table_name = '$t' AND is_identity = 'NO'")
  psql "$limit_db" -qc "\\copy $t ($cols) FROM '$work/$t.copy'"
done
copy_secs=$(calc "$(now) - $start")
pg_limit=$(calc "$n / $copy_secs")
say "$(printf 'postgres bulk load: %d rows (articles, bands, stories, terms, events, mentions, event outlets) in %.1f s = %.0f rows/s = the rows of %.0f articles/s' \
  "$rows" "$copy_secs" "$(calc "$rows / $copy_secs")" "$pg_limit")"
rm -f "$work"/*.copy
psql "$admin_db" -qc "DROP DATABASE IF EXISTS newsflow_bench_limit WITH (FORCE)"

slower=$(calc "if ($broker_limit < $pg_limit) $broker_limit else $pg_limit")
which=$( [ "$(calc "$broker_limit < $pg_limit")" = 1 ] && echo broker || echo postgres )
say "$(printf 'slower limit: %s at %.0f articles/s; the pipeline sustains %.0f articles/s = %.0f%% of it' \
  "$which" "$slower" "$rate" "$(calc "100 * $rate / $slower")")"
if [ "${BENCH_PG_PROFILE:-0}" = 1 ]; then
  say "== Postgres time per statement in the pipeline's database"
  python3 scripts/pg-profile.py "$pg_log" newsflow_bench "$pg_log_start" 20 | tee -a "$work/summary.txt"
fi
say "summary and logs: $work"
exit
}
