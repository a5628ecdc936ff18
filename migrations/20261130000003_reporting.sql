-- The read side: report views over events, mentions, stories, articles and rejected messages,
-- the indexes their typical filters need, and the three roles (analyst, writer, migrator).
-- Documented with one example query each in docs/reports.md.

-- ---------------------------------------------------------------------------------------------
-- Indexes for the report queries (see the EXPLAIN ANALYZE plans in docs/reports.md).
-- ---------------------------------------------------------------------------------------------

-- Daily, dyad and actor aggregation over a date range without visiting the heap (index-only
-- scans): every column those queries group, filter or sum on, keyed by date; event_id lets the
-- event list pick its top rows here too. Names and the other columns are read afterwards for
-- the few rows shown (events_source_prefix / events_target_prefix / events_pkey).
CREATE INDEX events_date_report ON events (event_date)
    INCLUDE (root_code, quad_class, source_code, target_code, source_country, target_country,
             place_country, num_mentions, num_articles, goldstein, event_id);
-- CAMEO code prefixes (`--code 057`) within a date range.
CREATE INDEX events_code_prefix ON events (cameo_code text_pattern_ops, event_date);
-- Actor filters are code prefixes ("RUS" matches RUSGOV, RUSMIL): LIKE 'RUS%' needs
-- text_pattern_ops under a non-C collation. The target side had no index at all.
CREATE INDEX events_source_prefix ON events (source_code text_pattern_ops, event_date);
CREATE INDEX events_target_prefix ON events (target_code text_pattern_ops, event_date);
CREATE INDEX events_place_country ON events (place_country, event_date);
-- Duplicate and DLQ statistics are per UTC day of ingestion / rejection.
CREATE INDEX articles_ingested_day ON articles (((ingested_at AT TIME ZONE 'UTC')::date), duplicate_kind);
CREATE INDEX rejected_messages_day ON rejected_messages (((rejected_at AT TIME ZONE 'UTC')::date), error_class);

-- ---------------------------------------------------------------------------------------------
-- Views.
-- ---------------------------------------------------------------------------------------------

-- Events per day by CAMEO root code, quad class and country. `country` is where it happened
-- (place_country), else the source actor's country, else NULL.
CREATE VIEW report_events_daily AS
SELECT e.event_date                                  AS day,
       e.root_code,
       e.quad_class,
       COALESCE(e.place_country, e.source_country)   AS country,
       count(*)                                      AS events,
       sum(e.num_mentions)::bigint                   AS mentions,
       sum(e.num_articles)::bigint                   AS articles,
       round(avg(e.goldstein)::numeric, 3)::double precision            AS mean_goldstein
FROM events e
GROUP BY e.event_date, e.root_code, e.quad_class, COALESCE(e.place_country, e.source_country);

-- Dyads (source acts on target) per day: how many events, mentions and the mean Goldstein
-- score. Events without a target are not dyadic and are left out.
CREATE VIEW report_dyads_daily AS
SELECT e.event_date                        AS day,
       e.source_code,
       max(e.source_name)                  AS source_name,
       e.target_code,
       max(e.target_name)                  AS target_name,
       count(*)                            AS events,
       sum(e.num_mentions)::bigint         AS mentions,
       round(avg(e.goldstein)::numeric, 3)::double precision  AS mean_goldstein,
       count(*) FILTER (WHERE e.quad_class IN (1, 2)) AS cooperative_events,
       count(*) FILTER (WHERE e.quad_class IN (3, 4)) AS conflictual_events
FROM events e
WHERE e.target_code IS NOT NULL
GROUP BY e.event_date, e.source_code, e.target_code;

-- Activity of each actor per day, as source and as target (an event counts once per actor:
-- self-events are never stored).
CREATE VIEW report_actor_activity AS
SELECT a.day,
       a.actor_code,
       max(a.actor_name)                               AS actor_name,
       max(a.actor_country)                            AS actor_country,
       count(*)                                        AS events,
       count(*) FILTER (WHERE a.side = 'source')       AS as_source,
       count(*) FILTER (WHERE a.side = 'target')       AS as_target,
       sum(a.num_mentions)::bigint                     AS mentions,
       round(avg(a.goldstein)::numeric, 3)::double precision             AS mean_goldstein
FROM (
    SELECT event_date AS day, source_code AS actor_code, source_name AS actor_name,
           source_country AS actor_country, 'source' AS side, num_mentions, goldstein
    FROM events
    UNION ALL
    SELECT event_date, target_code, target_name, target_country, 'target', num_mentions, goldstein
    FROM events
    WHERE target_code IS NOT NULL
) a
GROUP BY a.day, a.actor_code;

-- Stories with their articles (every article row assigned to the story), outlets and events
-- (events first reported in the story, or mentioned by any of its articles).
CREATE VIEW report_stories AS
SELECT s.id                                   AS story_id,
       s.title,
       s.first_seen,
       s.last_seen,
       s.article_count,
       s.copy_count,
       s.source_count,
       COALESCE(art.articles, 0)              AS articles,
       COALESCE(art.outlets, '{}')            AS outlets,
       COALESCE(art.urls, '{}')               AS urls,
       COALESCE(ev.events, 0)                 AS events,
       COALESCE(ev.event_ids, '{}')           AS event_ids
FROM stories s
LEFT JOIN LATERAL (
    SELECT count(*)                                                   AS articles,
           array_agg(DISTINCT a.source ORDER BY a.source)
               FILTER (WHERE a.source IS NOT NULL)                    AS outlets,
           array_agg(COALESCE(a.url, a.canonical_url) ORDER BY a.published_at NULLS LAST, a.id)
               FILTER (WHERE COALESCE(a.url, a.canonical_url) IS NOT NULL) AS urls
    FROM articles a
    WHERE a.story_id = s.id
) art ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS events, array_agg(x.event_id ORDER BY x.event_id) AS event_ids
    FROM (
        SELECT e.event_id FROM events e WHERE e.story_id = s.id
        UNION
        SELECT m.event_id
        FROM articles a
        JOIN event_mentions m ON m.article_id = a.id
        WHERE a.story_id = s.id
    ) x
) ev ON true;

-- An event's full record: one row per mention (sentence, offsets, outlet, URL), with the
-- event's fields repeated; an event without mentions still has one row (mention columns NULL).
CREATE VIEW report_event_mentions AS
SELECT e.event_id,
       e.event_date,
       e.date_precision,
       e.source_code,
       e.source_name,
       e.source_country,
       e.target_code,
       e.target_name,
       e.target_country,
       e.cameo_code,
       e.root_code,
       e.quad_class,
       e.goldstein,
       e.plover,
       e.place_name,
       e.place_country,
       e.place_lat,
       e.place_lon,
       e.num_mentions,
       e.num_articles,
       e.num_sources,
       e.avg_confidence,
       e.first_seen,
       e.last_seen,
       e.story_id,
       e.coder_version,
       m.id                          AS mention_id,
       m.article_id,
       m.sentence_no,
       m.sentence,
       m.in_title,
       m.action_text,
       m.sentence_start,
       m.source_start,
       m.source_end,
       m.target_start,
       m.target_end,
       m.action_start,
       m.action_end,
       m.date_source,
       m.confidence,
       m.is_copy,
       COALESCE(m.source, a.source)  AS outlet,
       COALESCE(a.url, a.canonical_url) AS url,
       a.title                       AS article_title,
       a.published_at,
       m.mentioned_at
FROM events e
LEFT JOIN event_mentions m ON m.event_id = e.event_id
LEFT JOIN articles a ON a.id = m.article_id;

-- Articles per UTC day of ingestion by duplicate kind; originals appear as kind 'original' so
-- duplicate rates can be computed from the view alone.
CREATE VIEW report_duplicates_daily AS
SELECT (a.ingested_at AT TIME ZONE 'UTC')::date          AS day,
       COALESCE(a.duplicate_kind, 'original')            AS duplicate_kind,
       count(*)                                          AS articles,
       round(avg(a.similarity)::numeric, 3)::double precision              AS mean_similarity
FROM articles a
GROUP BY (a.ingested_at AT TIME ZONE 'UTC')::date, COALESCE(a.duplicate_kind, 'original');

-- Rejected (dead-lettered) messages per UTC day by error class.
CREATE VIEW report_dlq_daily AS
SELECT (r.rejected_at AT TIME ZONE 'UTC')::date          AS day,
       r.error_class,
       count(*)                                          AS messages,
       sum(r.payload_bytes)::bigint                      AS payload_bytes,
       min(r.reason)                                     AS sample_reason
FROM rejected_messages r
GROUP BY (r.rejected_at AT TIME ZONE 'UTC')::date, r.error_class;

-- ---------------------------------------------------------------------------------------------
-- Roles. Roles are cluster-wide while this migration runs once per database, and tests migrate
-- many databases on one cluster in parallel: each CREATE ROLE tolerates losing the race.
-- They are NOLOGIN groups; a deployment creates login users (or sets a password and LOGIN)
-- and grants them one of these.
-- ---------------------------------------------------------------------------------------------

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['newsflow_analyst', 'newsflow_writer', 'newsflow_migrator'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
                IF r = 'newsflow_analyst' THEN
                    -- Belt and braces: an analyst session cannot even start a writing transaction.
                    EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on', r);
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- another database's migration created it first
            END;
        END IF;
    END LOOP;
END
$$;

-- Nobody creates objects in the schema except its owner (PG15's default; explicit for older
-- clusters upgraded in place).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- The migrator owns the schema and everything in it (when the role running this migration may
-- hand ownership over: a superuser or a member of newsflow_migrator).
DO $$
DECLARE
    obj record;
BEGIN
    IF pg_has_role(current_user, 'newsflow_migrator', 'MEMBER')
       OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER SCHEMA public OWNER TO newsflow_migrator';
        FOR obj IN
            SELECT c.relname, c.relkind
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public'
              AND c.relkind IN ('r', 'v', 'm', 'p')
        LOOP
            EXECUTE format('ALTER %s public.%I OWNER TO newsflow_migrator',
                           CASE obj.relkind WHEN 'v' THEN 'VIEW'
                                            WHEN 'm' THEN 'MATERIALIZED VIEW'
                                            ELSE 'TABLE' END,
                           obj.relname);
        END LOOP;
    ELSE
        RAISE NOTICE 'not allowed to hand the schema to newsflow_migrator; ownership unchanged';
    END IF;
END
$$;
GRANT USAGE, CREATE ON SCHEMA public TO newsflow_migrator;

-- Analysts and BI tools: read everything, change nothing.
GRANT USAGE ON SCHEMA public TO newsflow_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO newsflow_analyst;

-- The services: read and write rows, use sequences, no DDL (no CREATE on the schema, and they
-- own nothing, so they cannot ALTER or DROP).
GRANT USAGE ON SCHEMA public TO newsflow_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO newsflow_writer;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO newsflow_writer;

-- Future tables, views and sequences get the same grants, whether a later migration runs as
-- this role or as newsflow_migrator.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO newsflow_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO newsflow_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO newsflow_writer;
DO $$
BEGIN
    IF pg_has_role(current_user, 'newsflow_migrator', 'MEMBER')
       OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER DEFAULT PRIVILEGES FOR ROLE newsflow_migrator IN SCHEMA public
            GRANT SELECT ON TABLES TO newsflow_analyst;
        ALTER DEFAULT PRIVILEGES FOR ROLE newsflow_migrator IN SCHEMA public
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO newsflow_writer;
        ALTER DEFAULT PRIVILEGES FOR ROLE newsflow_migrator IN SCHEMA public
            GRANT USAGE, SELECT ON SEQUENCES TO newsflow_writer;
    END IF;
END
$$;
