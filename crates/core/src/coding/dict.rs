//! Dictionary plumbing: TSV reading, phrase tables and one Aho-Corasick scanner over all
//! dictionaries (whole-word, overlapping matches).

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::CodingError;
use super::text::{Tokens, normalize_phrase};

/// Rows of a TSV file: `#` comments and blank lines skipped, fields trimmed.
pub fn tsv_rows(content: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    content.lines().enumerate().filter_map(|(i, l)| {
        let t = l.trim_end_matches('\r');
        if t.trim().is_empty() || t.trim_start().starts_with('#') {
            None
        } else {
            Some((i + 1, t.split('\t').map(str::trim).collect()))
        }
    })
}

/// Field `i` of a row, "" when missing.
pub fn field<'a>(row: &[&'a str], i: usize) -> &'a str {
    row.get(i).copied().unwrap_or("")
}

/// Split a `|`-separated list, dropping empty items and `-`.
pub fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split('|')
        .map(str::trim)
        .filter(|x| !x.is_empty() && *x != "-")
}

/// A phrase as written in a dictionary: must it be matched in capitals only?
/// Acronyms written in capitals ("US", "UN", "WHO") only match capitalised text;
/// proper names must start with a capital letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Any,
    Capitalised,
    AllCaps,
}

impl Case {
    pub fn of_proper_name(raw: &str) -> Case {
        let letters: Vec<char> = raw.chars().filter(|c| c.is_alphabetic()).collect();
        if letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase()) {
            Case::AllCaps
        } else if letters.first().is_some_and(|c| c.is_uppercase()) {
            Case::Capitalised
        } else {
            Case::Any
        }
    }
}

/// One hit of the phrase index: token range `[s, e)` and the payloads stored for it.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    pub s: usize,
    pub e: usize,
    pub pattern: usize,
}

/// A dictionary's phrases (normalised) with their payloads. Matching is done for all
/// dictionaries at once by a [`Scanner`].
pub struct PhraseIndex<T> {
    /// Distinct normalised phrases; a [`Hit`]'s `pattern` indexes this.
    pub keys: Vec<String>,
    /// Per distinct normalised phrase: (payload, case rule) pairs.
    pub entries: Vec<Vec<(T, Case)>>,
}

impl<T: Clone> PhraseIndex<T> {
    pub fn build(items: Vec<(String, T, Case)>) -> Result<Self, CodingError> {
        let mut keys: Vec<String> = Vec::new();
        let mut entries: Vec<Vec<(T, Case)>> = Vec::new();
        let mut pos: HashMap<String, usize> = HashMap::new();
        for (raw, payload, case) in items {
            let norm = normalize_phrase(&raw);
            if norm.is_empty() {
                continue;
            }
            let idx = *pos.entry(norm.clone()).or_insert_with(|| {
                keys.push(norm);
                entries.push(Vec::new());
                keys.len() - 1
            });
            entries[idx].push((payload, case));
        }
        if keys.is_empty() {
            return Err(CodingError::Dictionary("empty dictionary".into()));
        }
        Ok(PhraseIndex { keys, entries })
    }

    /// Payloads of a hit whose case rule is satisfied by the text.
    pub fn payloads<'a>(&'a self, t: &'a Tokens, h: Hit) -> impl Iterator<Item = &'a T> + 'a {
        self.entries
            .get(h.pattern)
            .into_iter()
            .flatten()
            .filter(move |(_, case)| case_ok(t, h, *case))
            .map(|(p, _)| p)
    }
}

/// One Aho-Corasick automaton over the phrases of several dictionaries, so a sentence is
/// scanned once. Built once per coder; `scan` allocates nothing beyond the hit lists.
pub struct Scanner {
    ac: AhoCorasick,
    /// Per automaton pattern: (dictionary number, phrase index in that dictionary).
    targets: Vec<Vec<(usize, usize)>>,
}

impl Scanner {
    /// `dictionaries[i]` are the normalised phrases of dictionary `i`.
    pub fn build(dictionaries: &[&[String]]) -> Result<Self, CodingError> {
        let mut pos: HashMap<&str, usize> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut targets: Vec<Vec<(usize, usize)>> = Vec::new();
        for (d, keys) in dictionaries.iter().enumerate() {
            for (k, key) in keys.iter().enumerate() {
                let idx = *pos.entry(key.as_str()).or_insert_with(|| {
                    // Padded with spaces: only whole words match (tokenised text is padded too).
                    patterns.push(format!(" {key} "));
                    targets.push(Vec::new());
                    patterns.len() - 1
                });
                targets[idx].push((d, k));
            }
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .or_else(|_| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
            })
            .map_err(|e| CodingError::Dictionary(format!("automaton: {e}")))?;
        Ok(Scanner { ac, targets })
    }

    /// All whole-word occurrences (overlapping) in `t`, per dictionary.
    pub fn scan(&self, t: &Tokens, out: &mut [Vec<Hit>]) {
        for o in out.iter_mut() {
            o.clear();
        }
        for m in self.ac.find_overlapping_iter(t.norm.as_str()) {
            let s = t.start_at.get(m.start() + 1).copied().unwrap_or(u32::MAX);
            let e = t
                .end_at
                .get(m.end().saturating_sub(1))
                .copied()
                .unwrap_or(u32::MAX);
            if s == u32::MAX || e == u32::MAX {
                continue;
            }
            for &(d, k) in self
                .targets
                .get(m.pattern().as_usize())
                .into_iter()
                .flatten()
            {
                if let Some(o) = out.get_mut(d) {
                    o.push(Hit {
                        s: s as usize,
                        e: e as usize + 1,
                        pattern: k,
                    });
                }
            }
        }
    }
}

fn case_ok(t: &Tokens, h: Hit, case: Case) -> bool {
    match case {
        Case::Any => true,
        Case::Capitalised => t.toks.get(h.s).is_some_and(|x| x.upper),
        Case::AllCaps => (h.s..h.e).all(|i| t.toks.get(i).is_some_and(|x| x.caps)),
    }
}

/// Pick non-overlapping hits, longest first (ties: earlier first), returned in text order.
pub fn longest_non_overlapping<X: Copy>(
    mut cands: Vec<(usize, usize, X)>,
) -> Vec<(usize, usize, X)> {
    cands.sort_by(|a, b| (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.0.cmp(&b.0)));
    let mut taken: Vec<(usize, usize, X)> = Vec::new();
    for c in cands {
        if taken.iter().all(|t| c.1 <= t.0 || c.0 >= t.1) {
            taken.push(c);
        }
    }
    taken.sort_by_key(|c| c.0);
    taken
}
