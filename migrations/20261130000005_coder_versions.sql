-- Versioned extraction: each coder (dictionary) version keeps its own events and mentions, and
-- exactly one version is the reported one. A re-extraction with new dictionaries (a second
-- consumer group, docs/runbook.md) writes beside the old results instead of adding its
-- mentions to the old events' counts; the switch is one update of `coder_versions`.
--
-- The stored rows move to `event_versions` and `event_mention_versions` (every version); the
-- names `events` and `event_mentions` become views of the reported version, so every report,
-- view and analyst query keeps its meaning and never mixes versions.

CREATE TABLE coder_versions (
    version     text        PRIMARY KEY,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    -- The version the `events` / `event_mentions` views (and so every report) show.
    reported    boolean     NOT NULL DEFAULT false
);
-- At most one reported version.
CREATE UNIQUE INDEX coder_versions_one_reported ON coder_versions (reported) WHERE reported;

INSERT INTO coder_versions (version, first_seen)
SELECT coder_version, min(first_seen) FROM events GROUP BY coder_version;
-- Before versions were kept apart, the newest version was the one being written.
UPDATE coder_versions SET reported = true
 WHERE version = (SELECT version FROM coder_versions ORDER BY first_seen DESC, version LIMIT 1);

ALTER TABLE event_mentions DROP CONSTRAINT event_mentions_event_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (event_id, coder_version);
ALTER TABLE events ADD CONSTRAINT events_coder_version_fkey
    FOREIGN KEY (coder_version) REFERENCES coder_versions (version);
ALTER TABLE events RENAME TO event_versions;
ALTER TABLE event_mentions RENAME TO event_mention_versions;
ALTER TABLE event_mention_versions ADD CONSTRAINT event_mentions_event_fkey
    FOREIGN KEY (event_id, coder_version) REFERENCES event_versions (event_id, coder_version)
    ON DELETE CASCADE;

-- The report index serves index-only scans: it needs the version column to filter on.
DROP INDEX events_date_report;
CREATE INDEX events_date_report ON event_versions (event_date)
    INCLUDE (root_code, quad_class, source_code, target_code, source_country, target_country,
             place_country, num_mentions, num_articles, goldstein, event_id, coder_version);

-- The scalar subquery is evaluated once per query (an InitPlan), then it is a plain filter.
CREATE VIEW events AS
SELECT * FROM event_versions
 WHERE coder_version = (SELECT version FROM coder_versions WHERE reported);
CREATE VIEW event_mentions AS
SELECT * FROM event_mention_versions
 WHERE coder_version = (SELECT version FROM coder_versions WHERE reported);

-- The report views followed the renamed tables; point them back at the reported-version
-- views (same text otherwise, so the same columns).
DO $$
DECLARE
    v record;
    def text;
BEGIN
    FOR v IN
        SELECT c.relname
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'v' AND c.relname LIKE 'report\_%'
    LOOP
        def := pg_get_viewdef(format('public.%I', v.relname)::regclass);
        def := regexp_replace(def, '\mevent_mention_versions\M', 'event_mentions', 'g');
        def := regexp_replace(def, '\mevent_versions\M', 'events', 'g');
        EXECUTE format('CREATE OR REPLACE VIEW public.%I AS %s', v.relname, def);
    END LOOP;
END
$$;

-- Same ownership as every other object (see 20261130000003_reporting.sql).
DO $$
BEGIN
    IF pg_has_role(current_user, 'newsflow_migrator', 'MEMBER')
       OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER TABLE coder_versions OWNER TO newsflow_migrator;
        ALTER VIEW events OWNER TO newsflow_migrator;
        ALTER VIEW event_mentions OWNER TO newsflow_migrator;
    END IF;
END
$$;
