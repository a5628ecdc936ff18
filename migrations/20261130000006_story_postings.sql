-- Indexes for the extract write path, from a profile of the pipeline benchmark.
--
-- Story shortlists read each term's stories most recently seen first, within a date window,
-- capped per term (services/extract/src/store.rs, newsflow_core::shortlist): an index-only
-- scan that stops after the cap, however many stories share a common term. It replaces the
-- (term, story_id) key as the by-term index: every merge rewrites a story's terms, and a
-- third index on them cost more than the uniqueness it checked (the extract store writes
-- each story's terms once, under the merge lock, after deleting the old ones).
CREATE INDEX story_terms_postings ON story_terms (term, seen DESC, story_id DESC) INCLUDE (weight);
ALTER TABLE story_terms DROP CONSTRAINT story_terms_pkey;

-- An event's first mentions (the evidence published with it: originals before copies, in
-- order) read with a LIMIT instead of ranking all of its mentions; also the per-version
-- lookup of an event's mentions that recounts it.
CREATE INDEX event_mentions_event_first ON event_mention_versions (event_id, coder_version, is_copy, id);
DROP INDEX event_mentions_event;
