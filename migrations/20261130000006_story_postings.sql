-- Story shortlists read each term's stories most recently seen first, within a date window,
-- capped per term (services/extract/src/store.rs, newsflow_core::shortlist): an index-only
-- scan that stops after the cap, however many stories share a common term.
CREATE INDEX story_terms_postings ON story_terms (term, seen DESC, story_id DESC) INCLUDE (weight);
