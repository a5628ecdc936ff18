-- Normalises what differs between two runs of the report corpus (tests/data/corpus.jsonl)
-- through the same pipeline code, so that the runs compare equal: scripts/report-fixture.sh
-- runs it before it dumps tests/common/fixture.sql, and tests/fixture_fresh.rs before it
-- compares a fresh pipeline run with that fixture. Run only on a database of its own.

-- Wall-clock times become the article's publication time, which is already its time in
-- events and stories (extract's `seen_at`): ingested, produced (the raw message's Kafka
-- timestamp) and extracted "when published". The duplicates view then counts per publication
-- day. Every article of the corpus has a publication time; the fallback is for safety only.
UPDATE articles
   SET ingested_at  = coalesce(published_at, '2024-06-22 00:00:00+00'),
       produced_at  = CASE WHEN produced_at IS NOT NULL
                           THEN coalesce(published_at, '2024-06-22 00:00:00+00') END,
       extracted_at = CASE WHEN extracted_at IS NOT NULL
                           THEN coalesce(published_at, '2024-06-22 00:00:00+00') END,
       -- Each run has topics of its own; dedup reads only the raw topic.
       src_topic    = 'news.articles.raw';

-- The corpus's poison messages are rejected by dedup, from the raw topic; they have no
-- publication time, so they are dated by one fixed time, the day after the corpus's last.
UPDATE rejected_messages
   SET rejected_at = '2024-06-23 00:00:00+00',
       src_topic   = 'news.articles.raw';

-- A story's first and last seen cover its syndicated copies only when a copy notice reaches
-- extract after its original was placed (join_original_stories widens the span); a copy
-- linked before that joins with its original (assign_stories) without widening it. Which
-- comes first depends on how the articles and duplicates topics interleave, so take the span
-- over all of a story's articles, copies included: what the first order gives.
UPDATE stories s
   SET first_seen = LEAST(s.first_seen, a.first_seen),
       last_seen  = GREATEST(s.last_seen, a.last_seen)
  FROM (SELECT story_id, min(coalesce(published_at, ingested_at)) AS first_seen,
               max(coalesce(published_at, ingested_at)) AS last_seen
          FROM articles WHERE story_id IS NOT NULL GROUP BY story_id) a
 WHERE a.story_id = s.id;

UPDATE event_versions SET updated_at = last_seen;
UPDATE coder_versions SET first_seen = '2024-06-23 00:00:00+00';

-- Mention ids follow the order extract inserted them, and a copy's mentions are inserted
-- when its copy notice or its original is processed, whichever comes second: that depends on
-- how the articles and duplicates topics interleave. Renumber them in a stable order (by
-- article, so an original's mentions come before its copies').
-- (Rewritten through a temporary copy: the ids are an identity column, which UPDATE cannot set.)
CREATE TEMPORARY TABLE renumbered_mentions AS SELECT * FROM event_mention_versions;
UPDATE renumbered_mentions m
   SET id = r.n
  FROM (SELECT id,
               row_number() OVER (ORDER BY article_id, sentence_no, action_start, event_id,
                                           coder_version) AS n
          FROM renumbered_mentions) r
 WHERE m.id = r.id;
DELETE FROM event_mention_versions;
INSERT INTO event_mention_versions OVERRIDING SYSTEM VALUE SELECT * FROM renumbered_mentions;
DROP TABLE renumbered_mentions;
SELECT setval(pg_get_serial_sequence('event_mention_versions', 'id'), max(id))
  FROM event_mention_versions;
