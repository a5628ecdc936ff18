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
    /// Duplicate links within one truth cluster.
    pub true_positives: usize,
    /// Duplicate links across truth clusters.
    pub false_positives: usize,
    /// Truth duplicates the system did not put with their original.
    pub false_negatives: usize,
    /// Truth duplicates linked to another story (see [`score`]).
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

/// Scores dedup `decisions` against `truth`, by clusters, so the result does not depend on
/// the order in which a system saw the articles.
///
/// In a partitioned stream a copy may be processed before its original; the system then
/// stores the copy as the original and links the real original to it. Both are one story
/// either way, so this counts as right. Precisely:
/// * Every article the system flags as a duplicate is one link. A link is a true positive
///   when both ends belong to the same truth cluster (the article a chain of `original_id`s
///   starts from), a false positive otherwise (also when `duplicate_of` is unknown). A flag
///   without `duplicate_of` is a true positive for a truth duplicate, else a false positive.
/// * A truth duplicate (exact_repost, syndicated, light_edit, truncated) is a false negative
///   when the system does not put it in the same cluster as its truth original (following
///   `duplicate_of` links), or there is no decision for it.
/// * `wrong_original` counts the false-positive links of truth duplicates (a copy linked to
///   another story). Precision = TP / links; recall = 1 - FN / truth duplicates.
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
    let mut decided: HashMap<&str, Option<Option<&str>>> = HashMap::with_capacity(truths.len());
    for d in decisions {
        if truths.contains_key(d.id) {
            decided.insert(d.id, d.is_duplicate.then_some(d.duplicate_of));
        }
    }
    // The system's cluster of an article: follow duplicate_of links (bounded against cycles).
    let system_root = |mut id: &'a str| -> &'a str {
        for _ in 0..64 {
            match decided.get(id) {
                Some(Some(Some(up))) if *up != id => id = up,
                _ => break,
            }
        }
        id
    };
    let (mut tp, mut fp, mut fn_, mut wrong) = (0, 0, 0, 0);
    for (&id, t) in &truths {
        let decision = decided.get(id);
        if let Some(Some(linked)) = decision {
            if let Some(k) = per_kind.get_mut(t.kind.as_str()) {
                k.flagged_duplicate += 1;
            }
            let right = match linked {
                Some(linked) => {
                    truths.contains_key(linked) && root(&truths, linked) == root(&truths, id)
                }
                None => t.kind.is_duplicate(),
            };
            if right {
                tp += 1;
            } else {
                fp += 1;
                if t.kind.is_duplicate() {
                    wrong += 1;
                }
            }
        }
        if t.kind.is_duplicate() {
            let together = decision.is_some() && system_root(id) == system_root(root(&truths, id));
            if !together {
                fn_ += 1;
            }
        }
    }
    let duplicates = truths.values().filter(|t| t.kind.is_duplicate()).count();
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
        recall: ratio(duplicates - fn_.min(duplicates), duplicates),
        per_kind,
    }
}
