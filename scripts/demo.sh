#!/usr/bin/env bash
# Runs the newsflow pipeline end to end on this machine: brings the local stack up, starts the
# services (two replicas each), feeds the seed sample and a synthetic stream with labelled
# duplicates, waits until everything landed, and prints what is in Postgres.
#   DEMO_ARTICLES   synthetic articles to feed (default 2000)
# Every run uses its own database (newsflow_demo) and its own topics, so runs never mix.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
articles=${DEMO_ARTICLES:-2000}
run=demo$(date +%s)
work="$root/.local/$run"
mkdir -p "$work"
admin_db=postgres://postgres@127.0.0.1:5432/postgres
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/newsflow_demo

scripts/stack.sh up
psql "$admin_db" -qc "DROP DATABASE IF EXISTS newsflow_demo WITH (FORCE)" -c "CREATE DATABASE newsflow_demo"
bin="$root/target/release"
"$bin/newsflow-dedup" migrate >/dev/null

export NEWSFLOW_BROKERS=127.0.0.1:9092
export NEWSFLOW_INPUT_TOPIC=$run.news.articles.raw
export NEWSFLOW_OUTPUT_TOPIC=$run.news.articles
export NEWSFLOW_DUPLICATES_TOPIC=$run.news.articles.duplicates
export NEWSFLOW_DLQ_TOPIC=$run.news.articles.dlq
export NEWSFLOW_ARTICLES_TOPIC=$NEWSFLOW_OUTPUT_TOPIC NEWSFLOW_EVENTS_TOPIC=$run.news.events
"$bin/newsflow-feed" topics --partitions 4 \
  --topic "$NEWSFLOW_INPUT_TOPIC" --topic "$NEWSFLOW_OUTPUT_TOPIC" \
  --topic "$NEWSFLOW_DUPLICATES_TOPIC" --topic "$NEWSFLOW_DLQ_TOPIC" --topic "$NEWSFLOW_EVENTS_TOPIC"

pids=()
stop() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop EXIT
# As the images run the services: two malloc arenas (see the Dockerfile).
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
for i in 0 1; do
  NEWSFLOW_ADMIN_ADDR=127.0.0.1:$((9100 + i)) NEWSFLOW_INSTANCE_ID=dedup-$i NEWSFLOW_GROUP=$run-dedup \
    "$bin/newsflow-dedup" run >"$work/dedup-$i.log" 2>&1 &
  pids+=($!)
  NEWSFLOW_ADMIN_ADDR=127.0.0.1:$((9110 + i)) NEWSFLOW_INSTANCE_ID=extract-$i NEWSFLOW_GROUP=$run-extract \
    "$bin/newsflow-extract" run >"$work/extract-$i.log" 2>&1 &
  pids+=($!)
done
echo "services started (logs in $work); admin: http://127.0.0.1:9100/metrics" >&2

"$bin/newsflow-feed" text --published-at 2024-06-19 --source seed.example --quiet \
  "$( [ -f ../shared/samples/seed-article.txt ] && echo ../shared/samples/seed-article.txt || echo data/samples/seed-article.txt )"
"$bin/newsflow-feed" synth --count "$articles" --seed 42 --truth "$work/truth.jsonl" --quiet

expected=$((articles + 1))
echo "waiting until all $expected articles are in Postgres..." >&2
for _ in $(seq 1 600); do
  got=$(psql "$DATABASE_URL" -tAc "SELECT (SELECT count(*) FROM articles) + (SELECT count(*) FROM rejected_messages)")
  pending=$(psql "$DATABASE_URL" -tAc "SELECT (SELECT count(*) FROM outbox)
      + (SELECT count(*) FROM articles WHERE duplicate_of IS NULL AND extracted_at IS NULL)")
  [ "$got" -ge "$expected" ] && [ "$pending" -eq 0 ] && break
  sleep 1
done

echo
echo "== articles in Postgres"
psql "$DATABASE_URL" -P pager=off -c "
  SELECT coalesce(duplicate_kind, 'original') AS decision, count(*) AS articles,
         round(avg(similarity)::numeric, 3) AS mean_similarity
    FROM articles GROUP BY 1 ORDER BY 2 DESC"
psql "$DATABASE_URL" -P pager=off -c "SELECT error_class, count(*) FROM rejected_messages GROUP BY 1"
psql "$DATABASE_URL" -P pager=off -c "
  SELECT external_id, source, word_count, left(title, 60) AS title
    FROM articles WHERE external_id = 'seed-article'"
echo "== events coded from the seed sample (most reported first)"
psql "$DATABASE_URL" -P pager=off -c "
  SELECT e.event_date, e.source_code, e.target_code, e.cameo_code, e.plover, e.num_mentions AS mentions,
         e.num_articles AS articles, left(min(m.sentence), 70) AS example
    FROM events e JOIN event_mentions m ON m.event_id = e.event_id JOIN articles a ON a.id = m.article_id
   WHERE a.external_id = 'seed-article'
   GROUP BY e.event_id ORDER BY e.num_mentions DESC, e.event_date LIMIT 15"
psql "$DATABASE_URL" -P pager=off -c "
  SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM event_mentions) AS mentions,
         (SELECT count(*) FROM stories) AS stories"
echo "== busiest dyads (newsflow-report dyads)"
"$bin/newsflow-report" dyads --limit 8 --from 2024-06-01 --to 2024-07-31
echo "== duplicate links against the ground truth"
"$bin/newsflow-feed" score --truth "$work/truth.jsonl" | grep -E '"(precision|recall|true_positives|false_positives|false_negatives)"'
