//! Scoring a dedup run against the synthetic stream's ground truth.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{Truth, TruthKind};

/// What a dedup system decided about one article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision<'a> {
    pub id: &'a str,
    pub is_duplicate: bool,
    /// The article it was linked to, if the system says which.
    pub duplicate_of: Option<&'a str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Score {
    /// Truth duplicates flagged as duplicates.
    pub true_positives: usize,
    /// Originals and same-topic articles flagged as duplicates.
    pub false_positives: usize,
    /// Truth duplicates not flagged (or without any decision).
    pub false_negatives: usize,
    /// True positives linked to an article of another story (see [`score`]).
    pub wrong_original: usize,
    pub precision: f64,
    pub recall: f64,
    /// Per truth kind (snake_case name): how many there were and how many were flagged.
    pub per_kind: BTreeMap<String, KindScore>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct KindScore {
    pub total: usize,
    pub flagged_duplicate: usize,
}

/// Follows `original_id` links to the article a chain of copies started from.
/// Bounded, so a malformed (cyclic) truth cannot loop.
fn root<'t>(truths: &HashMap<&'t str, &'t Truth>, mut id: &'t str) -> &'t str {
    for _ in 0..64 {
        match truths.get(id).and_then(|t| t.original_id.as_deref()) {
            Some(up) => id = up,
            None => break,
        }
    }
    id
}

/// Scores dedup `decisions` against `truth`.
///
/// * A truth duplicate (exact_repost, syndicated, light_edit, truncated) flagged as a
///   duplicate is a true positive; not flagged, or with no decision at all, a false
///   negative. An original or same_topic article flagged is a false positive.
/// * `wrong_original` counts true positives whose `duplicate_of` is given but leads to
///   another root: the link is right when following `original_id` from `duplicate_of`
///   and from the article's truth original ends at the same article — so linking a copy
///   to another copy of the same original is right. An unknown id is wrong. A true
///   positive with `duplicate_of: None` is not counted as wrong.
/// * Decisions for ids missing from `truth` are ignored; precision and recall are 1.0
///   when their denominators are 0.
pub fn score<'a>(
    truth: impl IntoIterator<Item = &'a Truth>,
    decisions: impl IntoIterator<Item = Decision<'a>>,
) -> Score {
    let truths: HashMap<&str, &Truth> = truth.into_iter().map(|t| (t.id.as_str(), t)).collect();
    let mut per_kind: BTreeMap<String, KindScore> = BTreeMap::new();
    for kind in TruthKind::ALL {
        per_kind.insert(kind.as_str().to_owned(), KindScore::default());
    }
    for t in truths.values() {
        if let Some(k) = per_kind.get_mut(t.kind.as_str()) {
            k.total += 1;
        }
    }
    let mut flagged: HashMap<&str, Option<&str>> = HashMap::with_capacity(truths.len());
    for d in decisions {
        if d.is_duplicate && truths.contains_key(d.id) {
            flagged.insert(d.id, d.duplicate_of);
        } else {
            flagged.remove(d.id);
        }
    }
    let (mut tp, mut fp, mut fn_, mut wrong) = (0, 0, 0, 0);
    for (&id, t) in &truths {
        let decision = flagged.get(id);
        if decision.is_some()
            && let Some(k) = per_kind.get_mut(t.kind.as_str())
        {
            k.flagged_duplicate += 1;
        }
        match (t.kind.is_duplicate(), decision) {
            (true, Some(linked)) => {
                tp += 1;
                if let (Some(linked), Some(orig)) = (*linked, t.original_id.as_deref())
                    && (linked == id || root(&truths, linked) != root(&truths, orig))
                {
                    wrong += 1;
                }
            }
            (true, None) => fn_ += 1,
            (false, Some(_)) => fp += 1,
            (false, None) => {}
        }
    }
    let ratio = |num: usize, den: usize| {
        if den == 0 {
            1.0
        } else {
            num as f64 / den as f64
        }
    };
    Score {
        true_positives: tp,
        false_positives: fp,
        false_negatives: fn_,
        wrong_original: wrong,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        per_kind,
    }
}
