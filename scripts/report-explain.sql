-- EXPLAIN ANALYZE of the report queries as the service issues them, with typical filters, on
-- the synthetic load of scripts/report-load.sql (dates fall in 2023-2024). Each query runs
-- once to warm the cache, then is explained. Results go to docs/reports.md.
\set ON_ERROR_STOP on
\pset pager off

\echo '=== Q1 events-daily, 30 days'
SELECT count(*) FROM (SELECT event_date, root_code, quad_class, COALESCE(place_country, source_country), count(*) FROM events WHERE event_date >= '2024-06-01' AND event_date <= '2024-06-30' GROUP BY 1, 2, 3, 4) w;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT event_date AS day, root_code, quad_class, COALESCE(place_country, source_country) AS country,
       count(*) AS events, COALESCE(sum(num_mentions), 0)::bigint AS mentions,
       COALESCE(sum(num_articles), 0)::bigint AS articles,
       round(avg(goldstein)::numeric, 3)::double precision AS mean_goldstein
FROM events WHERE true AND event_date >= '2024-06-01' AND event_date <= '2024-06-30'
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 NULLS LAST LIMIT 1000;

\echo '=== Q2 report_events_daily view, 30 days, one country'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT * FROM report_events_daily WHERE day BETWEEN '2024-06-01' AND '2024-06-30' AND country = 'RUS';

\echo '=== Q3 dyads, 30 days, top 20'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT d.source_code,
       (SELECT e.source_name FROM events e WHERE e.source_code = d.source_code ORDER BY e.event_date DESC LIMIT 1) AS source_name,
       d.target_code,
       (SELECT e.target_name FROM events e WHERE e.target_code = d.target_code ORDER BY e.event_date DESC LIMIT 1) AS target_name,
       d.events, d.mentions, d.mean_goldstein, d.first_day, d.last_day
FROM (SELECT source_code, target_code, count(*) AS events, COALESCE(sum(num_mentions), 0)::bigint AS mentions,
             round(avg(goldstein)::numeric, 3)::double precision AS mean_goldstein,
             min(event_date) AS first_day, max(event_date) AS last_day
      FROM events WHERE target_code IS NOT NULL AND event_date >= '2024-06-01' AND event_date <= '2024-06-30'
      GROUP BY source_code, target_code ORDER BY events DESC, mentions DESC, source_code, target_code LIMIT 20) d
ORDER BY d.events DESC, d.mentions DESC, d.source_code, d.target_code;

\echo '=== Q4 dyads, one year, actor prefix PRK'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT d.source_code,
       (SELECT e.source_name FROM events e WHERE e.source_code = d.source_code ORDER BY e.event_date DESC LIMIT 1) AS source_name,
       d.target_code,
       (SELECT e.target_name FROM events e WHERE e.target_code = d.target_code ORDER BY e.event_date DESC LIMIT 1) AS target_name,
       d.events, d.mentions, d.mean_goldstein, d.first_day, d.last_day
FROM (SELECT source_code, target_code, count(*) AS events, COALESCE(sum(num_mentions), 0)::bigint AS mentions,
             round(avg(goldstein)::numeric, 3)::double precision AS mean_goldstein,
             min(event_date) AS first_day, max(event_date) AS last_day
      FROM events WHERE target_code IS NOT NULL AND event_date >= '2024-01-01' AND event_date <= '2024-12-31'
        AND (source_code LIKE 'PRK%' OR target_code LIKE 'PRK%')
      GROUP BY source_code, target_code ORDER BY events DESC, mentions DESC, source_code, target_code LIMIT 20) d
ORDER BY d.events DESC, d.mentions DESC, d.source_code, d.target_code;

\echo '=== Q5 actors, 30 days, top 20'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT a.actor_code,
       COALESCE((SELECT e.source_name FROM events e WHERE e.source_code = a.actor_code ORDER BY e.event_date DESC LIMIT 1),
                (SELECT e.target_name FROM events e WHERE e.target_code = a.actor_code ORDER BY e.event_date DESC LIMIT 1)) AS actor_name,
       a.actor_country, a.events, a.as_source, a.as_target, a.mentions, a.mean_goldstein
FROM (SELECT actor_code, max(actor_country) AS actor_country, count(*) AS events,
             count(*) FILTER (WHERE side = 's') AS as_source, count(*) FILTER (WHERE side = 't') AS as_target,
             COALESCE(sum(num_mentions), 0)::bigint AS mentions,
             round(avg(goldstein)::numeric, 3)::double precision AS mean_goldstein
      FROM (SELECT source_code AS actor_code, source_country AS actor_country, 's' AS side, num_mentions, goldstein
            FROM events WHERE true AND event_date >= '2024-06-01' AND event_date <= '2024-06-30'
            UNION ALL
            SELECT target_code, target_country, 't', num_mentions, goldstein
            FROM events WHERE target_code IS NOT NULL AND event_date >= '2024-06-01' AND event_date <= '2024-06-30') sides
      GROUP BY actor_code ORDER BY events DESC, mentions DESC, actor_code LIMIT 20) a
ORDER BY a.events DESC, a.mentions DESC, a.actor_code;

\echo '=== Q6 events, one year, CAMEO 057, most mentioned first'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT e.event_id, e.event_date, e.source_code, e.source_name, e.target_code, e.target_name, e.cameo_code,
       e.quad_class, e.goldstein, e.place_country, e.num_mentions, e.num_articles, e.num_sources
FROM (SELECT event_id, num_mentions, event_date FROM events
      WHERE true AND event_date >= '2024-01-01' AND event_date <= '2024-12-31'
        AND root_code = 5 AND cameo_code LIKE '057%'
      ORDER BY num_mentions DESC, event_date DESC, event_id LIMIT 100) top
JOIN events e ON e.event_id = top.event_id
ORDER BY top.num_mentions DESC, top.event_date DESC, top.event_id;

\echo '=== Q7 events, 30 days, country KOR'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT e.event_id, e.event_date, e.source_code, e.source_name, e.target_code, e.target_name, e.cameo_code,
       e.quad_class, e.goldstein, e.place_country, e.num_mentions, e.num_articles, e.num_sources
FROM (SELECT event_id, num_mentions, event_date FROM events
      WHERE true AND event_date >= '2024-06-01' AND event_date <= '2024-06-30'
        AND (source_country = 'KOR' OR target_country = 'KOR' OR place_country = 'KOR')
      ORDER BY num_mentions DESC, event_date DESC, event_id LIMIT 100) top
JOIN events e ON e.event_id = top.event_id
ORDER BY top.num_mentions DESC, top.event_date DESC, top.event_id;

\echo '=== Q7b events, 30 days, no filter (the HTML page)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT e.event_id, e.event_date, e.source_code, e.source_name, e.target_code, e.target_name, e.cameo_code,
       e.quad_class, e.goldstein, e.place_country, e.num_mentions, e.num_articles, e.num_sources
FROM (SELECT event_id, num_mentions, event_date FROM events
      WHERE true AND event_date >= '2024-06-01' AND event_date <= '2024-06-30'
      ORDER BY num_mentions DESC, event_date DESC, event_id LIMIT 100) top
JOIN events e ON e.event_id = top.event_id
ORDER BY top.num_mentions DESC, top.event_date DESC, top.event_id;

\echo '=== Q8 one event with every mention (report_event_mentions)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT mention_id, article_id, outlet, url, sentence_no, in_title, is_copy, confidence, action_text,
       sentence, mentioned_at
FROM report_event_mentions WHERE event_id = md5('424242') AND mention_id IS NOT NULL
ORDER BY mentioned_at, article_id, sentence_no, mention_id;

\echo '=== Q9 stories seen in a week (report_stories)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT story_id, title, first_seen, last_seen, article_count, copy_count, source_count, articles,
       outlets, urls, events, event_ids
FROM report_stories WHERE true AND last_seen >= '2024-06-01'::date AND first_seen < ('2024-06-07'::date + 1)
ORDER BY last_seen DESC, story_id DESC LIMIT 100;

\echo '=== Q10 duplicates and DLQ, 30 days'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT day, duplicate_kind, articles, mean_similarity FROM report_duplicates_daily
WHERE true AND day >= '2024-06-01' AND day <= '2024-06-30' ORDER BY day, duplicate_kind LIMIT 1000;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT day, error_class, messages, payload_bytes, sample_reason FROM report_dlq_daily
WHERE true AND day >= '2024-06-01' AND day <= '2024-06-30' ORDER BY day, error_class LIMIT 1000;

\echo '=== Q11 GDELT export, one day of events with their first URL'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT e.event_id, e.first_seen,
       COALESCE(bool_or(m.in_title OR m.sentence_no <= 1), false) AS is_root,
       (array_agg(COALESCE(a.url, a.canonical_url) ORDER BY m.is_copy, m.mentioned_at, m.id)
            FILTER (WHERE COALESCE(a.url, a.canonical_url) IS NOT NULL))[1] AS source_url
FROM events e
LEFT JOIN event_mentions m ON m.event_id = e.event_id
LEFT JOIN articles a ON a.id = m.article_id
WHERE e.event_date = '2024-06-19'
GROUP BY e.event_id ORDER BY e.event_id;
