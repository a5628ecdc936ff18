//! Story shortlists: which stored stories each article of a batch is compared with in full,
//! from capped posting lists (term → the stories most recently seen with it).
//!
//! An article is looked up by its [`LOOKUP_TERMS`] heaviest terms. The store fetches, once
//! per batch, the posting list of each distinct lookup term of the batch, capped to the
//! stories most recently seen with the term inside the batch's window. A
//! rare term (a name, a place, a title word) returns all its stories; a common one (a
//! country) only its most recent ones, which is what keeps the lookup bounded: uncapped, a
//! country shared by thousands of stories made the shortlist query scan millions of rows per
//! batch and capped extract at ~25 articles/s. Ranking by shared weight happens here.

use std::collections::HashMap;

use chrono::NaiveDate;

/// Candidate stories compared in full per article: those sharing the most term weight with
/// it. Without the cut, every story in the window that shares one common term (a country)
/// was fetched and compared, thousands per article on a busy day.
pub const SHORTLIST: usize = 32;

/// Stories read per lookup term, the most recently seen first: all of a rare term's, a common
/// term's latest.
pub const POSTINGS_PER_TERM: usize = 32;

/// Terms of an article used to find candidate stories: its heaviest ones carry most of any
/// similarity, and each more term is another posting list to read.
pub const LOOKUP_TERMS: usize = 24;

/// Terms of a story with postings: its heaviest ones. An article finds a story through a
/// term only when the term is among the article's lookup terms *and* the story's posted
/// terms; both are the heavy ends of their vectors, which is where a story and a report of
/// it overlap. Posting all 64 made the postings the largest table a run writes (43% of the
/// rows of a 20,000-article bench) and their insert its costliest statement. Measured with
/// `stories_eval` (6,000 articles, seeds 7 and 11, pair P / R / B³ F-scores): 64 posted terms
/// 0.879 / 0.847 and 0.931 / 0.841; 32 or 24: 0.863 / 0.851 and 0.930 / 0.842, B³ within
/// 0.002 — a common term's capped posting list is no longer crowded by stories where it is
/// light, which joins a few more reports and a few more wrong pairs.
pub const POSTED_TERMS: usize = 24;

/// The `n` heaviest of `terms` (ties by hash), heaviest first.
fn heaviest(terms: &[(u64, f32)], n: usize) -> Vec<(u64, f32)> {
    let mut heaviest: Vec<(u64, f32)> = terms.to_vec();
    heaviest.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    heaviest.truncate(n);
    heaviest
}

/// The terms an article is looked up by: its [`LOOKUP_TERMS`] heaviest (ties by hash).
pub fn lookup_terms(terms: &[(u64, f32)]) -> Vec<u64> {
    heaviest(terms, LOOKUP_TERMS)
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

/// A story's postings: its [`POSTED_TERMS`] heaviest terms (ties by hash) with their
/// [`posted_weight`]s, sorted by hash.
pub fn posted_terms(terms: &[(u64, f32)]) -> Vec<(u64, f32)> {
    let mut posted: Vec<(u64, f32)> = heaviest(terms, POSTED_TERMS)
        .into_iter()
        .map(|(t, w)| (t, posted_weight(w)))
        .collect();
    posted.sort_unstable_by_key(|(t, _)| *t);
    posted
}

/// A story's weight for a term as its posting holds it: rounded to the nearest power of
/// 2^(1/4) (within ±9%). Postings only rank stories for the shortlist (the comparison itself
/// uses the story's exact vector), and a rounded weight changes only when the story's weight
/// moved by a step: an article joining a story rewrites the postings of the terms it moved,
/// not all of the story's (before, every join deleted and re-inserted 64 rows, each with two
/// index entries, and that churn was the largest write of a run).
pub fn posted_weight(weight: f32) -> f32 {
    if weight.is_nan() || weight <= 0.0 || weight.is_infinite() {
        return weight;
    }
    ((weight.log2() * 4.0).round() / 4.0).exp2()
}

/// What to change in a story's postings when its terms become `terms` and its day `day`.
#[derive(Debug, Default, PartialEq)]
pub struct PostingChanges {
    /// Terms whose postings go: the term left the story, or its posted weight or the story's
    /// day changed (rewritten below).
    pub remove: Vec<u64>,
    /// Postings to write, (term, posted weight), on `day`.
    pub write: Vec<(u64, f32)>,
}

/// The changes that take a story's postings from `old` (its terms and day when its postings
/// were last written; `None` for a story without postings) to those of `terms` on `day`.
/// Postings hold a story's [`posted_terms`], all on the story's day, so a posting is current
/// exactly when its term is still posted with the same rounded weight on the same day.
pub fn posting_changes(
    old: Option<(&[(u64, f32)], NaiveDate)>,
    terms: &[(u64, f32)],
    day: NaiveDate,
) -> PostingChanges {
    let after = posted_terms(terms);
    match old {
        None => PostingChanges {
            remove: Vec::new(),
            write: after,
        },
        Some((old, old_day)) if old_day != day => PostingChanges {
            remove: posted_terms(old).into_iter().map(|(t, _)| t).collect(),
            write: after,
        },
        Some((old, _)) => {
            let before: HashMap<u64, f32> = posted_terms(old).into_iter().collect();
            let now: HashMap<u64, f32> = after.iter().copied().collect();
            let mut remove: Vec<u64> = before
                .iter()
                .filter(|(t, w)| now.get(t) != Some(w))
                .map(|(t, _)| *t)
                .collect();
            remove.sort_unstable();
            let write = after
                .into_iter()
                .filter(|(t, w)| before.get(t) != Some(w))
                .collect();
            PostingChanges { remove, write }
        }
    }
}

/// One stored story in a term's posting list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Posting {
    pub story: i64,
    /// The story's weight for the term.
    pub weight: f32,
    /// The day the story was last seen.
    pub seen: NaiveDate,
}

/// The `n` stories sharing the most term weight with an article seen on `seen`, over its
/// `lookup` terms (from [`lookup_terms`], computed once per article by the caller, which
/// also fetches their postings), among stories last seen within `window_days` of it; ties by
/// story id.
pub fn shortlist(
    lookup: &[u64],
    seen: NaiveDate,
    postings: &HashMap<u64, Vec<Posting>>,
    window_days: i64,
    n: usize,
) -> Vec<i64> {
    let mut score: HashMap<i64, f32> = HashMap::new();
    for term in lookup {
        for p in postings.get(term).map(Vec::as_slice).unwrap_or_default() {
            if (p.seen - seen).num_days().abs() <= window_days {
                *score.entry(p.story).or_default() += p.weight;
            }
        }
    }
    let mut ranked: Vec<(i64, f32)> = score.into_iter().collect();
    ranked.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(n);
    ranked.into_iter().map(|(story, _)| story).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 6, d).unwrap_or_default()
    }

    fn posting(story: i64, weight: f32, d: u32) -> Posting {
        Posting {
            story,
            weight,
            seen: day(d),
        }
    }

    #[test]
    fn ranks_by_shared_weight_within_the_window() {
        let postings = HashMap::from([
            (1, vec![posting(10, 0.5, 19), posting(11, 0.9, 19)]),
            (2, vec![posting(10, 0.6, 18), posting(12, 2.0, 10)]),
            (3, vec![posting(13, 0.2, 20)]),
        ]);
        let terms = [(1, 1.0), (2, 1.0), (3, 1.0), (4, 1.0)];
        // Story 12 is out of the 3-day window; 10 shares two terms (1.1), 11 one (0.9).
        assert_eq!(
            shortlist(&lookup_terms(&terms), day(19), &postings, 3, 10),
            [10, 11, 13]
        );
        assert_eq!(
            shortlist(&lookup_terms(&terms), day(19), &postings, 3, 2),
            [10, 11]
        );
        assert_eq!(
            shortlist(&lookup_terms(&terms), day(19), &postings, 20, 1),
            [12]
        );
        assert!(shortlist(&[9], day(19), &postings, 3, 5).is_empty());
    }

    #[test]
    fn looks_up_by_the_heaviest_terms() {
        let terms: Vec<(u64, f32)> = (0..40).map(|t| (t, t as f32)).collect();
        let lookup = lookup_terms(&terms);
        assert_eq!(lookup.len(), LOOKUP_TERMS);
        assert_eq!(lookup[0], 39);
        assert!(!lookup.contains(&0));
        // A light term's stories do not count.
        let postings = HashMap::from([
            (0, vec![posting(5, 9.0, 1)]),
            (39, vec![posting(6, 0.1, 1)]),
        ]);
        assert_eq!(shortlist(&lookup, day(1), &postings, 0, 5), [6]);
    }

    #[test]
    fn posted_weights_round_to_quarter_powers_of_two() {
        assert_eq!(posted_weight(1.0), 1.0);
        assert_eq!(posted_weight(2.0), 2.0);
        assert_eq!(posted_weight(1.05), 1.0);
        assert!((posted_weight(1.2) - 2f32.powf(0.25)).abs() < 1e-6);
        for w in [0.01f32, 0.3, 0.77, 1.9, 13.0] {
            let p = posted_weight(w);
            assert!((p / w - 1.0).abs() < 0.095, "{w} -> {p}");
            assert_eq!(posted_weight(p), p);
        }
        assert_eq!(posted_weight(0.0), 0.0);
    }

    #[test]
    fn posting_changes_touch_only_moved_terms() {
        let old = [(1, 1.0), (2, 1.0), (3, 0.5)];
        // Term 1 barely moves, term 2 doubles, term 3 leaves, term 4 arrives.
        let new = [(1, 1.02), (2, 2.0), (4, 0.7)];
        let changes = posting_changes(Some((&old, day(3))), &new, day(3));
        assert_eq!(changes.remove, [2, 3]);
        assert_eq!(changes.write, [(2, 2.0), (4, posted_weight(0.7))]);
        // A new day rewrites every posting (the window filters and orders on it).
        let changes = posting_changes(Some((&old, day(3))), &new, day(4));
        assert_eq!(changes.remove, [1, 2, 3]);
        assert_eq!(changes.write.len(), 3);
        // A story without postings gets them all; an unchanged one none.
        assert_eq!(posting_changes(None, &new, day(3)).write.len(), 3);
        assert_eq!(
            posting_changes(Some((&old, day(3))), &old, day(3)),
            PostingChanges::default()
        );
    }

    #[test]
    fn ties_break_by_story_id() {
        let postings = HashMap::from([(1, vec![posting(7, 0.5, 1), posting(3, 0.5, 1)])]);
        assert_eq!(shortlist(&[1], day(1), &postings, 0, 5), [3, 7]);
    }
}
