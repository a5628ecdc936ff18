-- A story's whole term vector in its own row, and postings rewritten only where they moved
-- (services/extract/src/store.rs, newsflow_core::shortlist::posting_changes).
--
-- Before, every article joining a story deleted the story's 64 `story_terms` rows and inserted
-- 64 new ones (each with two index entries): the largest write of a benchmark run, and dead
-- rows for vacuum. Now the vector the comparison needs is one `bytea` value per story
-- (`terms`: per term its hash, 8 big-endian bytes, then its weight as a 4-byte big-endian
-- float, the bytes of int8send(term) || float4send(weight)), rewritten with the story's row,
-- which every join updates anyway; and `story_terms` keeps only the postings the shortlist
-- reads (its heaviest terms, rounded weights), rewritten where they or the story's day changed.
-- `terms_day` is the day the story's postings were written on.
ALTER TABLE stories ADD COLUMN terms bytea, ADD COLUMN terms_day date;

UPDATE stories s SET terms = v.terms, terms_day = v.day
  FROM (SELECT story_id, string_agg(int8send(term) || float4send(weight), ''::bytea ORDER BY term) AS terms,
               max(seen) AS day
          FROM story_terms GROUP BY story_id) v
 WHERE s.id = v.story_id;

-- Postings are a story's 24 heaviest terms (newsflow_core::shortlist::POSTED_TERMS; ties by
-- the hash as unsigned, i.e. with the sign bit flipped) with weights rounded to a quarter
-- power of two (posted_weight).
DELETE FROM story_terms st
 USING (SELECT story_id, term, seen,
               row_number() OVER (PARTITION BY story_id
                                  ORDER BY weight DESC, term # (-9223372036854775807 - 1)) AS rank
          FROM story_terms) r
 WHERE r.rank > 24 AND st.story_id = r.story_id AND st.term = r.term AND st.seen = r.seen;
UPDATE story_terms SET weight = power(2::numeric, round(log(2, weight::numeric) * 4) / 4)::real
 WHERE weight > 0;
