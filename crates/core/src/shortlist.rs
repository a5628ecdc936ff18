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

/// The terms an article is looked up by: its [`LOOKUP_TERMS`] heaviest (ties by hash).
pub fn lookup_terms(terms: &[(u64, f32)]) -> Vec<u64> {
    let mut heaviest: Vec<(u64, f32)> = terms.to_vec();
    heaviest.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    heaviest.truncate(LOOKUP_TERMS);
    heaviest.into_iter().map(|(t, _)| t).collect()
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
    fn ties_break_by_story_id() {
        let postings = HashMap::from([(1, vec![posting(7, 0.5, 1), posting(3, 0.5, 1)])]);
        assert_eq!(shortlist(&[1], day(1), &postings, 0, 5), [3, 7]);
    }
}
