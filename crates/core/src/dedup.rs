//! Duplicate recognition: exact re-posts (same canonical URL or same text), syndicated
//! copies (near-duplicates) and truncated copies, decided the same way by the offline
//! checker and by the service.

mod sketch;

use std::collections::HashMap;

use serde::Serialize;

use crate::article::{Limits, parse_article, salvage_identity};
pub use sketch::{
    BAND_KEYS, Fingerprint, LEAD_SHINGLES, SHINGLE_WORDS, Sketch, fingerprint, sketch,
};

/// Thresholds of the near-duplicate decision.
#[derive(Debug, Clone, PartialEq)]
pub struct DedupParams {
    /// Minimum Jaccard similarity of shingle sets for a near-duplicate. The LSH bands
    /// are tuned for thresholds around 0.5-0.9; below ~0.5 candidates start to be missed.
    pub near_duplicate_threshold: f64,
    /// Minimum containment (|A∩B| / min(|A|,|B|)) for a truncated copy.
    pub containment_threshold: f64,
    /// Texts with fewer shingles than this are only matched exactly (URL / text hash):
    /// a one-word change in a 15-word text already moves Jaccard below any sane threshold.
    pub min_shingles: usize,
}

impl Default for DedupParams {
    /// Chosen by measurement on variants of a 30-sentence (~650-word) article, 5-word
    /// shingles (`tests::measure_shingle_size_and_thresholds`):
    ///
    /// | variant                                   | Jaccard     | containment |
    /// |-------------------------------------------|-------------|-------------|
    /// | syndicated (dateline, boilerplate, -1 sentence) | 0.92  | 0.96        |
    /// | light edit, 1 / 2 / 3 / 4 of 30 sentences | 0.89 / 0.83 / 0.74 / 0.71 | 0.95 / 0.93 / 0.88 / 0.86 |
    /// | light edit, 5 / 6 / 8 of 30 sentences     | 0.62 / 0.57 / 0.45 | 0.80 / 0.76 / 0.67 |
    /// | first 30 / 40 / 50 / 60 %                 | 0.39 / 0.48 / 0.60 / 0.73 | 0.98 - 0.99 |
    /// | different articles on the same story      | 0.000 - 0.004 | 0.000 - 0.012 |
    ///
    /// 0.8 (the textbook value) would keep a 2-of-30-sentence edit with a margin of only
    /// 0.03. 0.5 keeps edits of up to ~7 of 30 sentences (about a quarter) and is still two
    /// orders of magnitude above unrelated articles. On the synthetic stream (1,500 articles of
    /// ~300 words, 1-3 sentences edited) 0.7 missed 15% of light edits, 0.6 missed 3%, 0.5
    /// none, with no false positive at any of them (`newsflow-dedup check
    /// --near-duplicate-threshold T`). Containment 0.9 sits between truncated copies
    /// (>= 0.98, also with a "continue reading" line added) and light edits (<= 0.93 only
    /// when Jaccard already matched). `min_shingles` 16 is about 20 words.
    fn default() -> Self {
        DedupParams {
            near_duplicate_threshold: 0.5,
            containment_threshold: 0.9,
            min_shingles: 16,
        }
    }
}

impl DedupParams {
    /// Checks the parameters; the error names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("near_duplicate_threshold", self.near_duplicate_threshold),
            ("containment_threshold", self.containment_threshold),
        ] {
            if !(value > 0.0 && value <= 1.0) {
                return Err(format!("{name} must be in (0, 1], got {value}"));
            }
        }
        if self.min_shingles == 0 {
            return Err("min_shingles must be at least 1, got 0".to_owned());
        }
        Ok(())
    }
}

/// Overlap of two shingle sets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// |A∩B| / |A∪B|.
    pub jaccard: f64,
    /// |A∩B| / min(|A|,|B|): 1.0 when one text is a truncation of the other.
    pub containment: f64,
}

/// Exact similarity of two sorted, duplicate-free shingle sets. Two empty sets are
/// identical (1.0, 1.0); an empty and a non-empty set share nothing (0.0, 0.0).
pub fn similarity(a: &[u64], b: &[u64]) -> Similarity {
    if a.is_empty() || b.is_empty() {
        let same = a.is_empty() && b.is_empty();
        let v = if same { 1.0 } else { 0.0 };
        return Similarity {
            jaccard: v,
            containment: v,
        };
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    Similarity {
        jaccard: common as f64 / union as f64,
        containment: common as f64 / a.len().min(b.len()) as f64,
    }
}

/// How a duplicate matched its original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// Same canonical URL.
    ExactUrl,
    /// Same text up to case, whitespace and punctuation.
    ExactText,
    /// Jaccard >= `near_duplicate_threshold` (syndicated or lightly edited copy).
    NearDuplicate,
    /// Containment >= `containment_threshold`: one text is (nearly) a part of the other.
    Truncated,
}

impl MatchKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            MatchKind::ExactUrl => "exact_url",
            MatchKind::ExactText => "exact_text",
            MatchKind::NearDuplicate => "near_duplicate",
            MatchKind::Truncated => "truncated",
        }
    }
}

impl std::fmt::Display for MatchKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Outcome of [`Index::classify`].
#[derive(Debug, Clone, PartialEq)]
pub enum Decision<Id> {
    Original,
    /// `similarity`: measured Jaccard (containment for `Truncated`, 1.0 for `ExactText`).
    Duplicate {
        of: Id,
        kind: MatchKind,
        similarity: f64,
    },
}

/// A new article that contains an earlier original is only its truncated copy if the
/// original is at least this fraction of it (by shingles): a long feature that quotes
/// a whole 3-paragraph brief is new content, not a copy. A new article contained in an
/// earlier one (the usual truncated copy) is a duplicate whatever its length.
pub const MIN_EXTENDED_FRACTION: f64 = 0.25;

/// At most this many band-key candidates are verified per classification, the best
/// supported first (shared keys, weighted by how few originals share each). A real copy
/// shares many of its 40 keys with its original (about 8 of the 32 whole-text bands at
/// Jaccard 0.7, plus the lead bands if the opening is unchanged), a chance match
/// typically one, so copies are not crowded out.
pub const MAX_VERIFIED: usize = 64;

/// A band key remembers at most this many originals (the first inserted). A key shared
/// by more is boilerplate (an outlet's standard opening, a template) and says little;
/// without the cap, collecting candidates would grow with the index, making a whole-file
/// check quadratic.
pub const MAX_PER_BAND_KEY: usize = 256;

struct Entry<Id> {
    id: Id,
    shingles: Vec<u64>,
}

/// In-memory candidate index: the same decision logic serves the offline checker (one
/// Index for a whole file) and the service (per batch: seeded with candidate originals
/// fetched from Postgres by canonical_url / content_hash / band_keys, then the batch
/// classified in order, inserting each new original so later articles in the batch see
/// it).
///
/// Memory grows with the originals inserted (their shingle sets: ~8 bytes per word).
pub struct Index<Id> {
    params: DedupParams,
    entries: Vec<Entry<Id>>,
    by_url: HashMap<String, usize>,
    by_hash: HashMap<i64, usize>,
    by_band: HashMap<i64, Vec<usize>>,
}

impl<Id: Clone> Index<Id> {
    pub fn new(params: DedupParams) -> Self {
        Index {
            params,
            entries: Vec::new(),
            by_url: HashMap::new(),
            by_hash: HashMap::new(),
            by_band: HashMap::new(),
        }
    }

    /// Adds an original. Insertion order matters: on equal evidence the earliest
    /// inserted original wins (a URL or text hash already present keeps its first owner).
    pub fn insert_original(
        &mut self,
        id: Id,
        canonical_url: Option<&str>,
        content_hash: i64,
        sketch: &Sketch,
    ) {
        let n = self.entries.len();
        if let Some(url) = canonical_url {
            self.by_url.entry(url.to_owned()).or_insert(n);
        }
        self.by_hash.entry(content_hash).or_insert(n);
        for &key in &sketch.band_keys {
            let slot = self.by_band.entry(key).or_default();
            if slot.len() < MAX_PER_BAND_KEY && slot.last() != Some(&n) {
                slot.push(n);
            }
        }
        self.entries.push(Entry {
            id,
            shingles: sketch.shingles.clone(),
        });
    }

    /// Decides whether an article duplicates an inserted original. Order: same
    /// canonical URL, same content hash, then band-key candidates verified by exact
    /// [`similarity`]: near-duplicate or truncated copy, the candidate with the highest
    /// similarity winning (ties: earliest inserted).
    pub fn classify(
        &self,
        canonical_url: Option<&str>,
        content_hash: i64,
        sketch: &Sketch,
    ) -> Decision<Id> {
        if let Some(&i) = canonical_url.and_then(|u| self.by_url.get(u)) {
            let entry = &self.entries[i];
            let similarity = similarity(&entry.shingles, &sketch.shingles).jaccard;
            return Decision::Duplicate {
                of: entry.id.clone(),
                kind: MatchKind::ExactUrl,
                similarity,
            };
        }
        if let Some(&i) = self.by_hash.get(&content_hash) {
            return Decision::Duplicate {
                of: self.entries[i].id.clone(),
                kind: MatchKind::ExactText,
                similarity: 1.0,
            };
        }
        let new_len = sketch.shingles.len();
        if new_len < self.params.min_shingles {
            return Decision::Original;
        }
        // Candidates with the evidence for them: each shared band key weighs 1/(number
        // of originals under it), so a key unique to one original counts fully and a
        // boilerplate key shared by hundreds next to nothing. Only the MAX_VERIFIED
        // best-supported candidates are verified, so templated texts sharing keys with
        // thousands of originals cannot make one classification (and a whole-file
        // check) quadratic.
        let mut candidates: Vec<(usize, f64)> = sketch
            .band_keys
            .iter()
            .filter_map(|k| self.by_band.get(k))
            .flat_map(|entries| {
                let weight = 1.0 / entries.len() as f64;
                entries.iter().map(move |&i| (i, weight))
            })
            .collect();
        candidates.sort_unstable_by_key(|&(i, _)| i);
        let mut supported: Vec<(usize, f64)> = Vec::with_capacity(candidates.len().min(64));
        for (i, weight) in candidates {
            match supported.last_mut() {
                Some((last, total)) if *last == i => *total += weight,
                _ => supported.push((i, weight)),
            }
        }
        if supported.len() > MAX_VERIFIED {
            supported.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            supported.truncate(MAX_VERIFIED);
            supported.sort_unstable_by_key(|&(i, _)| i);
        }

        let mut best: Option<(f64, usize, MatchKind)> = None;
        for (i, _) in supported {
            let old = &self.entries[i].shingles;
            if old.len() < self.params.min_shingles {
                continue;
            }
            let s = similarity(old, &sketch.shingles);
            let (shorter, longer) = (new_len.min(old.len()), new_len.max(old.len()));
            let contained = s.containment >= self.params.containment_threshold
                && (new_len <= old.len()
                    || old.len() as f64 >= MIN_EXTENDED_FRACTION * new_len as f64);
            // A copy that is one side cut short (a fifth or more missing) is reported as
            // truncated even when its Jaccard would also pass: the kind says what happened.
            let (score, kind) = if contained && (shorter as f64) < 0.8 * longer as f64 {
                (s.containment, MatchKind::Truncated)
            } else if s.jaccard >= self.params.near_duplicate_threshold {
                (s.jaccard, MatchKind::NearDuplicate)
            } else if contained {
                (s.containment, MatchKind::Truncated)
            } else {
                continue;
            };
            // candidates ascend in insertion order, so `>` keeps the earliest on ties
            if best.is_none_or(|(b, _, _)| score > b) {
                best = Some((score, i, kind));
            }
        }
        match best {
            Some((similarity, i, kind)) => Decision::Duplicate {
                of: self.entries[i].id.clone(),
                kind,
                similarity,
            },
            None => Decision::Original,
        }
    }

    /// Number of originals inserted.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One output line of the offline checker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckOutput {
    /// The input's id, else its url; for rejected input whatever id/url could be salvaged.
    pub id: Option<String>,
    /// "original", "duplicate" or "rejected".
    pub decision: &'static str,
    /// Display id of the original (duplicates only).
    pub duplicate_of: Option<String>,
    /// Rounded to 4 decimals (duplicates only).
    pub similarity: Option<f64>,
    /// exact_url | exact_text | near_duplicate | truncated, or the reject class.
    pub kind: Option<String>,
    /// Why the input was rejected.
    pub reason: Option<String>,
}

/// Offline mode (`newsflow-dedup check FILE`): feeds JSONL lines through
/// [`parse_article`] and one [`Index`] for the whole file, in order.
pub struct Checker {
    limits: Limits,
    index: Index<String>,
}

impl Checker {
    pub fn new(params: DedupParams, limits: Limits) -> Self {
        Checker {
            limits,
            index: Index::new(params),
        }
    }

    /// Classifies one input line (without its line terminator; trailing whitespace is
    /// ignored) and, if it is an original, remembers it for later lines.
    pub fn check_line(&mut self, line: &[u8]) -> CheckOutput {
        let article = match parse_article(line, &self.limits) {
            Ok(article) => article,
            Err(rejection) => {
                return CheckOutput {
                    id: salvage_identity(line, &self.limits),
                    decision: "rejected",
                    duplicate_of: None,
                    similarity: None,
                    kind: Some(rejection.class.as_str().to_owned()),
                    reason: Some(rejection.reason),
                };
            }
        };
        let Fingerprint {
            content_hash,
            sketch,
        } = fingerprint(&article.text);
        let id = article.external_id.clone().or_else(|| article.url.clone());
        match self
            .index
            .classify(article.canonical_url.as_deref(), content_hash, &sketch)
        {
            Decision::Original => {
                self.index.insert_original(
                    article.display_id(),
                    article.canonical_url.as_deref(),
                    content_hash,
                    &sketch,
                );
                CheckOutput {
                    id,
                    decision: "original",
                    duplicate_of: None,
                    similarity: None,
                    kind: None,
                    reason: None,
                }
            }
            Decision::Duplicate {
                of,
                kind,
                similarity,
            } => CheckOutput {
                id,
                decision: "duplicate",
                duplicate_of: Some(of),
                similarity: Some((similarity * 10_000.0).round() / 10_000.0),
                kind: Some(kind.as_str().to_owned()),
                reason: None,
            },
        }
    }

    /// Originals seen so far.
    pub fn originals(&self) -> usize {
        self.index.len()
    }
}

#[cfg(test)]
mod tests;
