//! Dictionary plumbing: TSV reading and a token-aligned phrase index on Aho-Corasick.

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

/// Token-aligned phrase search over normalised text. Built once; `find` is allocation-light.
pub struct PhraseIndex<T> {
    ac: AhoCorasick,
    /// Per distinct normalised phrase: (payload, case rule) pairs.
    pub entries: Vec<Vec<(T, Case)>>,
}

impl<T: Clone> PhraseIndex<T> {
    pub fn build(items: Vec<(String, T, Case)>) -> Result<Self, CodingError> {
        let mut keys: Vec<String> = Vec::new();
        let mut entries: Vec<Vec<(T, Case)>> = Vec::new();
        let mut pos: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
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
        // Padded with spaces: only whole words can match (tokenised text is padded too).
        let padded: Vec<String> = keys.iter().map(|k| format!(" {k} ")).collect();
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&padded)
            .or_else(|_| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&padded)
            })
            .map_err(|e| CodingError::Dictionary(format!("automaton: {e}")))?;
        Ok(PhraseIndex { ac, entries })
    }

    /// All token-aligned occurrences (overlapping) in `t`.
    pub fn find(&self, t: &Tokens, out: &mut Vec<Hit>) {
        out.clear();
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
            out.push(Hit {
                s: s as usize,
                e: e as usize + 1,
                pattern: m.pattern().as_usize(),
            });
        }
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
