-- Event counts kept up incrementally by the extract stage instead of recounted from every
-- mention of every touched event on each batch (a recount reads all mentions of a busy event,
-- so it got dearer the longer the stream ran; see BENCHMARKS.md).
--
-- The distinct outlets that reported each event, per coder version: adding a mention adds an
-- outlet to `num_sources` exactly when its row here is new. (Distinct articles need no table:
-- the mention key (event_id, article_id, ...) answers "has this article reported it before".)
CREATE TABLE event_sources (
    event_id      text NOT NULL,
    coder_version text NOT NULL,
    source        text NOT NULL,
    PRIMARY KEY (event_id, coder_version, source),
    FOREIGN KEY (event_id, coder_version) REFERENCES event_versions (event_id, coder_version)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);

INSERT INTO event_sources (event_id, coder_version, source)
SELECT DISTINCT event_id, coder_version, source
  FROM event_mention_versions
 WHERE source IS NOT NULL;

-- The stage writes an event's mentions first and then the event, with its counts, in one
-- upsert (a new event is written once, not inserted and then rewritten with its counts):
-- the mention → event reference is checked at commit.
ALTER TABLE event_mention_versions ALTER CONSTRAINT event_mentions_event_fkey
    DEFERRABLE INITIALLY DEFERRED;

GRANT SELECT ON event_sources TO newsflow_analyst;
GRANT SELECT, INSERT, UPDATE, DELETE ON event_sources TO newsflow_writer;

-- The write path's tables grow from empty at a high rate; with the default analyze threshold
-- (10% of the table changed) their statistics lagged far behind mid-stream, and a plan made
-- for a small table went on scanning a large one (see BENCHMARKS.md). Analyze them after 2%.
ALTER TABLE event_mention_versions SET (autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE event_versions SET (autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE event_sources SET (autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE story_terms SET (autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE stories SET (autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE articles SET (autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE article_bands SET (autovacuum_analyze_scale_factor = 0.02);
