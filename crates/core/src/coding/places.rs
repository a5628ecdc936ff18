//! Places: countries (centroids) and cities (capitals and major cities) with ISO-3 codes
//! and coordinates; found in datelines and in `in/at/near <place>` phrases.

use std::collections::HashMap;

use super::dict::{Case, Hit, PhraseIndex, field, list, tsv_rows};
use super::text::{Tokens, normalize_phrase};
use super::{CodingError, Place};

pub struct PlaceDict {
    pub places: Vec<Place>,
    pub(crate) index: PhraseIndex<u32>,
    by_norm: HashMap<String, u32>,
}

/// A place phrase found in a sentence: token range and place index.
#[derive(Debug, Clone, Copy)]
pub struct PlaceHit {
    pub s: usize,
    pub e: usize,
    pub place: u32,
    /// Preceded by a locative preposition ("in Kyiv"): the place of the event.
    pub prep: bool,
}

const PREPS: &[&str] = &[
    "in",
    "at",
    "near",
    "inside",
    "outside",
    "across",
    "throughout",
    "within",
    "into",
    "visited",
    "visit",
    "visiting",
];

impl PlaceDict {
    /// `cities`: `name <TAB> aliases <TAB> ISO-3 <TAB> lat <TAB> lon`; countries come from
    /// countries.tsv (name, aliases, centroid).
    pub fn load(cities: &str, countries: &str) -> Result<Self, CodingError> {
        let mut places = Vec::new();
        let mut items = Vec::new();
        let mut by_norm = HashMap::new();
        for (ln, row) in tsv_rows(cities) {
            let name = field(&row, 0);
            let iso = field(&row, 2);
            if name.is_empty() || iso.len() != 3 {
                return Err(CodingError::Dictionary(format!("cities.tsv:{ln}: bad row")));
            }
            let idx = places.len() as u32;
            places.push(Place {
                name: name.to_string(),
                country: iso.to_string(),
                lat: field(&row, 3).parse().ok(),
                lon: field(&row, 4).parse().ok(),
            });
            for a in std::iter::once(name).chain(list(field(&row, 1))) {
                by_norm.entry(normalize_phrase(a)).or_insert(idx);
                items.push((a.to_string(), idx, Case::of_proper_name(a)));
            }
        }
        for (_, row) in tsv_rows(countries) {
            let iso = field(&row, 0);
            let name = field(&row, 1);
            if iso.len() != 3 || name.is_empty() {
                continue;
            }
            let idx = places.len() as u32;
            places.push(Place {
                name: name.to_string(),
                country: iso.to_string(),
                lat: field(&row, 6).parse().ok(),
                lon: field(&row, 7).parse().ok(),
            });
            for a in std::iter::once(name).chain(list(field(&row, 2))) {
                by_norm.entry(normalize_phrase(a)).or_insert(idx);
                items.push((a.to_string(), idx, Case::of_proper_name(a)));
            }
        }
        Ok(PlaceDict {
            places,
            index: PhraseIndex::build(items)?,
            by_norm,
        })
    }

    /// Resolve a dateline place ("SEOUL", "NEW YORK").
    pub fn lookup(&self, name: &str) -> Option<&Place> {
        self.by_norm
            .get(&normalize_phrase(name))
            .and_then(|i| self.places.get(*i as usize))
    }

    pub fn get(&self, i: u32) -> Option<&Place> {
        self.places.get(i as usize)
    }

    /// Place phrases: a known place right after a locative preposition (optionally "the").
    pub fn find(&self, t: &Tokens, hits: &[Hit]) -> Vec<PlaceHit> {
        let mut out: Vec<PlaceHit> = Vec::new();
        for h in hits {
            let Some(&p) = self.index.payloads(t, *h).next() else {
                continue;
            };
            let mut k = h.s;
            if k > 0 && t.word(k - 1) == "the" {
                k -= 1;
            }
            let prep = k > 0 && PREPS.contains(&t.word(k - 1));
            // Keep the longest hit starting at each position.
            if let Some(last) = out.last_mut()
                && last.s == h.s
            {
                if h.e > last.e {
                    *last = PlaceHit {
                        s: h.s,
                        e: h.e,
                        place: p,
                        prep,
                    };
                }
                continue;
            }
            if out.iter().any(|o| h.s < o.e && h.e > o.s) {
                continue;
            }
            out.push(PlaceHit {
                s: h.s,
                e: h.e,
                place: p,
                prep,
            });
        }
        out
    }
}
