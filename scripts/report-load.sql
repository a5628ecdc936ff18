-- Synthetic load for the report queries: ~1M events over two years (2023-2024) with skewed
-- actors and codes, 1.5M mentions, 300k articles (10% duplicates), 50k stories, 20k rejected
-- messages. Run it against a scratch database migrated by `newsflow-report migrate`:
--
--   createdb -h 127.0.0.1 -U postgres newsflow_load
--   DATABASE_URL=postgres://postgres@127.0.0.1:5432/newsflow_load newsflow-report migrate
--   psql -h 127.0.0.1 -U postgres -d newsflow_load -f scripts/report-load.sql
--   psql -h 127.0.0.1 -U postgres -d newsflow_load -f scripts/report-explain.sql
--
-- Never run it against a real database: it inserts made-up rows with fixed ids.
\set ON_ERROR_STOP on
\timing on
SET synchronous_commit = off;
SELECT setseed(0.42);

INSERT INTO stories (id, title, first_seen, last_seen, article_count, copy_count, source_count)
SELECT g, 'synthetic story ' || g, t, t + interval '6 hours', 6, 1, 3
FROM (SELECT g, timestamptz '2023-01-01 00:00+00' + (g % 731) * interval '1 day' + (g % 24) * interval '1 hour' AS t
      FROM generate_series(1, 50000) g) s;
SELECT setval(pg_get_serial_sequence('stories', 'id'), 50000);

INSERT INTO articles (id, article_key, url, canonical_url, content_hash, title, body, source, language,
                      published_at, ingested_at, word_count, duplicate_of, duplicate_kind, similarity,
                      story_id, src_topic, src_partition, src_offset)
SELECT g, 'k' || g,
       'https://outlet' || (g % 60) || '.example/a/' || g,
       'https://outlet' || (g % 60) || '.example/a/' || g,
       g, 'synthetic article ' || g, repeat('synthetic words of an article ', 12),
       'outlet' || (g % 60) || '.example', 'en', t, t + interval '10 minutes', 60,
       CASE WHEN g % 10 = 0 THEN g - 1 END,
       CASE WHEN g % 10 = 0 THEN (ARRAY['exact_url', 'exact_text', 'near_duplicate', 'truncated'])[1 + (g / 10) % 4] END,
       CASE WHEN g % 10 = 0 THEN 0.8 + (g % 20) / 100.0 END,
       1 + g % 50000, 'news.articles.raw', g % 8, g
FROM (SELECT g, timestamptz '2023-01-01 00:00+00' + (g % 731) * interval '1 day' + (g % 1440) * interval '1 minute' AS t
      FROM generate_series(1, 300000) g) s;
SELECT setval('articles_id_seq', 300000);

CREATE TEMP TABLE load_countries AS
SELECT row_number() OVER () AS i, c
FROM unnest(ARRAY['USA','RUS','CHN','PRK','KOR','UKR','GBR','FRA','DEU','JPN','IND','PAK','IRN','ISR',
                  'PSE','SYR','TUR','SAU','EGY','NGA','ZAF','BRA','MEX','CAN','AUS','IDN','PHL','VNM',
                  'THA','MMR','AFG','IRQ','YEM','ETH','KEN','SDN','LBY','VEN','COL','ARG']) c;
CREATE TEMP TABLE load_roles AS
SELECT row_number() OVER () AS i, r FROM unnest(ARRAY['GOV','MIL','BUS','MED','OPP','REB']) r;

-- The coder version of these events is the reported one (the `events` view shows it).
INSERT INTO coder_versions (version, reported) VALUES ('synthetic-1', true);
-- Skewed draws: random()^2 favours the first countries, roles and root codes, as real news does.
INSERT INTO events (event_id, event_date, date_precision, source_code, source_name, source_country, source_role,
                    target_code, target_name, target_country, target_role, cameo_code, root_code, quad_class,
                    goldstein, plover, place_name, place_country, place_lat, place_lon, num_mentions,
                    num_articles, num_sources, avg_confidence, first_seen, last_seen, story_id, coder_version)
SELECT md5(g::text), d, 'day',
       sc.c || sr.r, sc.c || ' ' || sr.r, sc.c, sr.r,
       CASE WHEN has_target THEN tc.c || tr.r END, CASE WHEN has_target THEN tc.c || ' ' || tr.r END,
       CASE WHEN has_target THEN tc.c END, CASE WHEN has_target THEN tr.r END,
       lpad(root::text, 2, '0') || sub::text, root,
       CASE WHEN root <= 5 THEN 1 WHEN root <= 9 THEN 2 WHEN root <= 14 THEN 3 ELSE 4 END,
       CASE WHEN root <= 5 THEN 3.0 WHEN root <= 9 THEN 6.0 WHEN root <= 14 THEN -4.0 ELSE -8.0 END + sub / 10.0,
       'PLOVER' || root,
       CASE WHEN placed THEN 'capital of ' || sc.c END, CASE WHEN placed THEN sc.c END,
       CASE WHEN placed THEN 10.0 END, CASE WHEN placed THEN 20.0 END,
       mentions, greatest(1, mentions - 1), greatest(1, mentions / 2), 0.8,
       d + interval '8 hours', d + interval '20 hours',
       CASE WHEN g % 5 < 3 THEN 1 + g % 50000 END, 'synthetic-1'
FROM (
    SELECT g,
           date '2023-01-01' + (g % 731) AS d,
           1 + floor(40 * random() ^ 2)::int AS sci,
           1 + floor(6 * random() ^ 2)::int AS sri,
           1 + floor(40 * random() ^ 2)::int AS tci,
           1 + floor(6 * random() ^ 2)::int AS tri,
           1 + floor(20 * random() ^ 1.5)::int AS root,
           floor(random() * 8)::int AS sub,
           random() < 0.9 AS has_target,
           random() < 0.7 AS placed,
           1 + floor(20 * random() ^ 3)::int AS mentions
    FROM generate_series(1, 1000000) g
) x
JOIN load_countries sc ON sc.i = x.sci
JOIN load_roles sr ON sr.i = x.sri
JOIN load_countries tc ON tc.i = CASE WHEN x.tci = x.sci THEN 1 + x.tci % 40 ELSE x.tci END
JOIN load_roles tr ON tr.i = x.tri;

INSERT INTO event_mentions (event_id, article_id, sentence_no, sentence, in_title, sentence_start, sentence_end,
                            source_start, source_end, target_start, target_end, action_start, action_end,
                            action_text, date_source, confidence, is_copy, source, mentioned_at, coder_version)
SELECT md5(g::text), 1 + (g * 7 + k) % 300000, k, 'Synthetic sentence ' || g || ' number ' || k, k = 0,
       k * 100, k * 100 + 80, 0, 10, 20, 30, 11, 19, 'acted', 'published', 0.8, k = 2,
       'outlet' || ((g * 7 + k) % 60) || '.example', date '2023-01-01' + (g % 731) + interval '9 hours', 'synthetic-1'
FROM generate_series(1, 1000000) g
CROSS JOIN generate_series(0, 1) k
WHERE k = 0 OR g % 2 = 0;

INSERT INTO rejected_messages (error_class, reason, payload_bytes, src_topic, src_partition, src_offset, rejected_at)
SELECT (ARRAY['invalid_json', 'no_text', 'no_url_or_id', 'too_large', 'bad_encoding'])[1 + g % 5],
       'synthetic rejection', 100 + g % 1000, 'news.articles.raw', g % 8, 1000000 + g,
       timestamptz '2023-01-01 00:00+00' + (g % 731) * interval '1 day' + (g % 1440) * interval '1 minute'
FROM generate_series(1, 20000) g;

VACUUM ANALYZE stories;
VACUUM ANALYZE articles;
VACUUM ANALYZE events;
VACUUM ANALYZE event_mentions;
VACUUM ANALYZE rejected_messages;
SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM event_mentions) AS mentions,
       (SELECT count(*) FROM articles) AS articles, pg_size_pretty(pg_database_size(current_database())) AS size;
