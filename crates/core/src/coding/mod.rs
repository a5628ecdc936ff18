//! Event coder: who did what to whom, when and where, from news text, as CAMEO-coded
//! event mentions (PETRARCH-style dictionary coding, pure Rust, dictionaries as data).
//!
//! Pipeline per document: sentence segmentation ([`text`]), actor recognition against
//! data/actors ([`actors`]), verb patterns against data/verbs ([`verbs`]), source/target
//! from the sentence structure (subject before the pattern, object after it, passive
//! "by" agents, compound subjects), negation/hedging filters, date expressions
//! ([`dates`]) and places ([`places`]; their FIPS 10-4 codes for GDELT in [`fips`]).
//!
//! Choices worth knowing:
//! * The title, when present, is sentence 0 and its offsets are relative to the title;
//!   text sentences follow (numbered from 1 then) with char offsets into `Document::text`.
//!   Actor and action offsets are char offsets inside the sentence.
//! * Symmetric acts (data/verbs/cameo.tsv pairing `symmetric`: meet, talk, phone, negotiate,
//!   restore ties, sign, cooperate) are one event per unordered pair, whoever the report
//!   puts first: "Russia and North Korea signed a treaty", "Kim and Putin signed", "Putin
//!   signed a treaty with Kim" and the passive "was signed by Putin and Kim" all give
//!   PRK(GOV)→RUS(GOV) 057 and one event id. Canonical order: the actors' event-identity
//!   codes ([`event_key_code`]) sorted, ties by full code, then name. Source and target are
//!   swapped as whole [`Actor`]s, so their offsets still point at their own text. A compound
//!   subject of three or more ("the leaders of China, Japan and South Korea met") gives one
//!   event per unordered pair. A pattern flagged `directed` in data/verbs/verbs.tsv ("ratify")
//!   keeps a symmetric code as told.
//! * Statements (CAMEO 01x, "said") never take a target; the reported act in the
//!   complement clause is coded separately when it is asserted.
//! * Events are identified at country level ([`Mention::event_id`]): a person's or role's
//!   code is reduced to its country (RUSGOV → RUS), so "Russia signed" and "Putin signed"
//!   are the same event; organisation codes (IGOUNO) are kept whole.
//! * A compound subject with no other target pairs up only for symmetric codes (above) and
//!   mutual ones (pairing `mutual`: intents to cooperate, prisoner exchanges, ceasefires,
//!   cutting ties, clashes), which yield both directed pairs (each acted on the other);
//!   otherwise each member acts on the target.
//! * People are coded by the role they held on the event date (data/actors/people.tsv
//!   periods; out of office = `<ISO>ELI`). A surname alone ("Kim") resolves only when one
//!   dictionary person with it is named in full in the same document, or the surname is
//!   marked distinctive ("Putin"). Unknown people are never guessed.
//! * "He"/"She" opening a sentence refers to the first person actor of the previous
//!   sentence (confidence 0.45). A reduced relative without participants ("the treaty and
//!   other agreements signed on Wednesday") refers back to the latest asserted event with
//!   the same code and date in the previous 30 sentences (confidence 0.35; its actors carry
//!   offsets 0..0 since they are not in the sentence).
//! * Negated, hedged, future, requested and self-events are not returned by
//!   [`Coder::code`]; [`Coder::code_with_dropped`] returns them with a [`Status`].
//! * Confidence: 0.7 for a subject found before the pattern (0.55 inherited from a
//!   coordinated predicate or a nominal pattern, 0.45 pronoun), +0.1 for a multi-word
//!   pattern, + up to 0.15 for a target in a clear object slot.

pub mod actors;
pub mod dates;
pub mod dict;
pub mod eval;
pub mod fips;
pub mod places;
pub mod text;
pub mod verbs;

use std::collections::HashSet;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use actors::{ActorDict, ActorSources, ActorSpan};
use dates::DateExpr;
use places::PlaceDict;
use text::Tokens;
pub use verbs::Pairing;
use verbs::{VerbDict, VerbHit, VerbSources};

/// Errors building a coder (dictionaries are validated at load time; coding never fails).
#[derive(Debug, thiserror::Error)]
pub enum CodingError {
    #[error("dictionary error: {0}")]
    Dictionary(String),
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A document to code.
#[derive(Debug, Clone, Copy)]
pub struct Document<'a> {
    pub title: Option<&'a str>,
    pub text: &'a str,
    pub published: NaiveDate,
}

/// A coded participant.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Actor {
    /// CAMEO actor code: ISO-3 plus role (RUSGOV), bare ISO-3 (USA), or organisation (IGOUNO).
    pub code: String,
    /// Canonical name: the person ("Vladimir Putin"), country ("Russia") or organisation.
    pub name: String,
    /// ISO-3 country when the code has one.
    pub country: Option<String>,
    /// Role part of the code (GOV, MIL, …; IGO/NGO for organisations).
    pub role: Option<String>,
    /// Char offsets in the sentence.
    pub start: usize,
    pub end: usize,
}

/// Where an event happened.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Place {
    pub name: String,
    pub country: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// One coded event mention. For symmetric codes ([`Pairing::Symmetric`]) source and target
/// are in canonical order, not necessarily the order of the sentence.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Mention {
    pub sentence_no: usize,
    pub sentence: String,
    /// Char offsets of the sentence in the document text (in the title when `in_title`).
    pub sentence_start: usize,
    pub sentence_end: usize,
    pub in_title: bool,
    pub source: Actor,
    pub target: Option<Actor>,
    pub cameo: String,
    pub root: u8,
    pub quad_class: u8,
    pub goldstein: f32,
    pub plover: String,
    /// Char offsets of the action pattern in the sentence.
    pub action_start: usize,
    pub action_end: usize,
    pub action_text: String,
    pub date: NaiveDate,
    /// "text" when a date expression of the sentence gave the date, else "published".
    pub date_source: String,
    /// "day", "week", "month" or "year".
    pub date_precision: String,
    pub place: Option<Place>,
    pub confidence: f32,
}

impl Mention {
    /// The event this mention reports, at country level (see [`event_key_code`]).
    pub fn event_id(&self) -> String {
        event_id(
            self.date,
            &event_key_code(&self.source),
            self.target.as_ref().map(event_key_code).as_deref(),
            &self.cameo,
            self.place.as_ref().map(|p| p.country.as_str()),
        )
    }
}

/// Actor code used in event identity: the country for country-based codes (RUSGOV → RUS),
/// the whole code otherwise (IGOUNO, COP).
pub fn event_key_code(a: &Actor) -> String {
    match &a.country {
        Some(c) => c.clone(),
        None => a.code.clone(),
    }
}

/// Deterministic event identity: xxh3-128 of the key fields, 32 hex digits.
pub fn event_id(
    date: NaiveDate,
    source_code: &str,
    target_code: Option<&str>,
    cameo: &str,
    place_country: Option<&str>,
) -> String {
    let key = format!(
        "{}|{}|{}|{}|{}",
        date.format("%Y-%m-%d"),
        source_code,
        target_code.unwrap_or(""),
        cameo,
        place_country.unwrap_or("")
    );
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(key.as_bytes()))
}

/// Why a pattern match did not become an event (see [`Coder::code_with_dropped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    Asserted,
    Negated,
    /// Modal, future, conditional, reported-as-uncertain or infinitive/gerund complement.
    Hedged,
    SelfEvent,
}

/// A mention together with its status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodedMention {
    pub mention: Mention,
    pub status: Status,
}

struct Sources<'a> {
    countries: &'a str,
    roles: &'a str,
    orgs: &'a str,
    people: &'a str,
    cameo: &'a str,
    verbs: &'a str,
    irregular: &'a str,
    cities: &'a str,
}

/// Dictionary files, relative to the data directory, in version-hash order.
pub const DATA_FILES: [&str; 8] = [
    "actors/countries.tsv",
    "actors/roles.tsv",
    "actors/orgs.tsv",
    "actors/people.tsv",
    "verbs/cameo.tsv",
    "verbs/verbs.tsv",
    "verbs/irregular.tsv",
    "places/cities.tsv",
];

/// The event coder. Immutable after construction: `Send + Sync`, share it across threads.
pub struct Coder {
    actors: ActorDict,
    verbs: VerbDict,
    places: PlaceDict,
    /// One automaton over actor, verb and place phrases: each sentence is scanned once.
    scanner: dict::Scanner,
    version: String,
}

const NEGATIONS: &[&str] = &["not", "never", "no", "neither", "nor", "cannot", "without"];
const AUX_FOR_NT: &[&str] = &[
    "did", "does", "do", "is", "was", "were", "are", "has", "have", "had", "could", "would", "wo",
    "ca", "should", "must", "isn", "wasn", "weren", "aren", "hasn", "haven", "hadn", "didn",
    "doesn", "don", "couldn", "wouldn", "shouldn", "won", "can",
];
const HEDGES: &[&str] = &[
    "may",
    "might",
    "could",
    "would",
    "will",
    "shall",
    "should",
    "can",
    "ll",
    "must",
    "reportedly",
    "allegedly",
    "possibly",
    "probably",
    "likely",
    "unlikely",
    "perhaps",
    "plan",
    "plans",
    "planned",
    "planning",
    "expected",
    "intend",
    "intends",
    "intended",
    "hope",
    "hopes",
    "hoped",
    "want",
    "wants",
    "wanted",
    "whether",
    "if",
    "unless",
    "deny",
    "denied",
    "denies",
    "rumored",
    "rumoured",
    "suspected",
    "claim",
    "claims",
    "claimed",
    "alleged",
    "alleges",
    "question",
    "questioned",
    "doubt",
    "doubts",
    "consider",
    "considering",
    "considers",
    "ready",
    "prepared",
    "seeks",
    "seek",
    "aims",
    "aim",
    "vowed",
    "vows",
    "promised",
    "believed",
    "thought",
    "feared",
    "promises",
    "threatens",
    "threatened",
    "urged",
    "urges",
    "asked",
    "called",
];
/// Hedges that reach back past the subject to the start of the clause.
const CLAUSE_HEDGES: &[&str] = &["if", "whether", "unless", "reportedly", "allegedly"];
const CLAUSE_BREAKS: &[&str] = &[
    "that", "which", "who", "whom", "whose", "but", "while", "whereas", "although", "because",
    "though", "after", "before", "when", "since", "until", "if", "unless", "as", "during",
];
/// Conjunctions that separate a subject from a later verb ("X is under sanctions, but the country stresses").
const STRONG_BREAKS: &[&str] = &[
    "but", "while", "whereas", "although", "though", "because", "however",
];
const NO_SUBJECT_PREP: &[&str] = &[
    "to", "with", "against", "on", "into", "by", "than", "like", "over", "about", "for", "toward",
    "towards", "upon",
];
const PRONOUNS: &[&str] = &["he", "she"];
/// Capitalised words that are not names (sentence openers, pronouns).
const FUNCTION_WORDS: &[&str] = &[
    "the",
    "a",
    "an",
    "it",
    "they",
    "we",
    "he",
    "she",
    "i",
    "this",
    "that",
    "these",
    "those",
    "there",
    "who",
    "which",
    "both",
    "all",
    "some",
    "many",
    "most",
    "but",
    "and",
    "then",
    "also",
    "later",
    "earlier",
    "meanwhile",
    "today",
    "yesterday",
    "now",
    "previously",
    "recently",
    "separately",
    "officials",
];

impl Coder {
    /// A coder with the dictionaries compiled into the binary.
    pub fn embedded() -> Result<Self, CodingError> {
        let contents = [
            include_str!("../../../../data/actors/countries.tsv"),
            include_str!("../../../../data/actors/roles.tsv"),
            include_str!("../../../../data/actors/orgs.tsv"),
            include_str!("../../../../data/actors/people.tsv"),
            include_str!("../../../../data/verbs/cameo.tsv"),
            include_str!("../../../../data/verbs/verbs.tsv"),
            include_str!("../../../../data/verbs/irregular.tsv"),
            include_str!("../../../../data/places/cities.tsv"),
        ];
        Self::from_contents(&contents)
    }

    /// A coder reading the dictionaries from `data_dir` (layout as in [`DATA_FILES`]).
    pub fn from_dir(data_dir: &Path) -> Result<Self, CodingError> {
        let mut contents = Vec::with_capacity(DATA_FILES.len());
        for f in DATA_FILES {
            let p = data_dir.join(f);
            let s = std::fs::read_to_string(&p).map_err(|source| CodingError::Io {
                path: p.display().to_string(),
                source,
            })?;
            contents.push(s);
        }
        let refs: Vec<&str> = contents.iter().map(String::as_str).collect();
        Self::from_contents(&refs)
    }

    fn from_contents(c: &[&str]) -> Result<Self, CodingError> {
        let [
            countries,
            roles,
            orgs,
            people,
            cameo,
            verbs,
            irregular,
            cities,
        ] = c
        else {
            return Err(CodingError::Dictionary(
                "expected 8 dictionary files".into(),
            ));
        };
        let s = Sources {
            countries,
            roles,
            orgs,
            people,
            cameo,
            verbs,
            irregular,
            cities,
        };
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for (name, content) in DATA_FILES.iter().zip(c) {
            h.update(name.as_bytes());
            h.update(&[0]);
            h.update(content.as_bytes());
            h.update(&[0]);
        }
        let version = format!("{:016x}", h.digest());
        let actors = ActorDict::load(&ActorSources {
            countries: s.countries,
            roles: s.roles,
            orgs: s.orgs,
            people: s.people,
        })?;
        let verbs = VerbDict::load(&VerbSources {
            cameo: s.cameo,
            verbs: s.verbs,
            irregular: s.irregular,
        })?;
        let places = PlaceDict::load(s.cities, s.countries)?;
        let scanner =
            dict::Scanner::build(&[&actors.index.keys, &verbs.index.keys, &places.index.keys])?;
        Ok(Coder {
            actors,
            verbs,
            places,
            scanner,
            version,
        })
    }

    /// Hash of the dictionary contents: stamp it on extracted events to version them.
    pub fn dictionary_version(&self) -> String {
        self.version.clone()
    }

    /// CAMEO code table (code, name, root, quad class, Goldstein, PLOVER, pairing).
    pub fn cameo_table(&self) -> &[verbs::CameoInfo] {
        &self.verbs.cameo
    }

    /// How the participants of `cameo` pair up; unknown codes are directed.
    pub fn pairing(&self, cameo: &str) -> Pairing {
        self.verbs
            .cameo_by_code
            .get(cameo)
            .and_then(|&c| self.verbs.info(c))
            .map_or(Pairing::Directed, |i| i.pairing)
    }

    /// Every asserted event mention, in text order.
    pub fn code(&self, doc: &Document<'_>) -> Vec<Mention> {
        self.code_with_dropped(doc)
            .into_iter()
            .filter(|m| m.status == Status::Asserted)
            .map(|m| m.mention)
            .collect()
    }

    /// Every mention including negated, hedged and self-events, with their status.
    pub fn code_with_dropped(&self, doc: &Document<'_>) -> Vec<CodedMention> {
        struct Sent<'a> {
            no: usize,
            text: &'a str,
            start: usize,
            end: usize,
            in_title: bool,
            toks: Tokens,
            cands: Vec<(usize, usize, actors::Entry)>,
            verb_hits: Vec<dict::Hit>,
            place_hits: Vec<dict::Hit>,
        }
        let mut hits: [Vec<dict::Hit>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        let mut pieces: Vec<(&str, usize, usize, bool)> = Vec::new();
        if let Some(full) = doc.title {
            let title = full.trim();
            if !title.is_empty() {
                let off = full.find(title).unwrap_or(0);
                let start = full[..off].chars().count();
                pieces.push((title, start, start + title.chars().count(), true));
            }
        }
        let (spans, dateline) = text::split_sentences(doc.text);
        for sp in &spans {
            let s = doc.text.get(sp.start_byte..sp.end_byte).unwrap_or("");
            pieces.push((s, sp.start_char, sp.end_char, false));
        }
        let mut doc_persons = HashSet::new();
        let mut sents: Vec<Sent<'_>> = Vec::with_capacity(pieces.len());
        for (no, (text, start, end, in_title)) in pieces.into_iter().enumerate() {
            let toks = text::tokenize(text);
            self.scanner.scan(&toks, &mut hits);
            let cands = self.actors.candidates(&toks, &hits[0]);
            ActorDict::full_mentions(&cands, &mut doc_persons);
            sents.push(Sent {
                no,
                text,
                start,
                end,
                in_title,
                toks,
                cands,
                verb_hits: std::mem::take(&mut hits[1]),
                place_hits: std::mem::take(&mut hits[2]),
            });
        }
        let dateline_place = dateline.and_then(|d| self.places.lookup(&d.place)).cloned();

        let mut out = Vec::new();
        let mut prev_person: Option<Actor> = None;
        for s in &sents {
            let t = &s.toks;
            let spans = self
                .actors
                .resolve(t, &s.cands, doc.published, &doc_persons);
            let vhits = self.verbs.find(t, &s.verb_hits);
            let dates = dates::find_dates(t, doc.published);
            let all_places = self.places.find(t, &s.place_hits);
            let places: Vec<places::PlaceHit> =
                all_places.iter().copied().filter(|p| p.prep).collect();
            let mut role_tok = vec![false; t.len()];
            for cand in &s.cands {
                if let actors::Entry::Role(_) = cand.2 {
                    for r in role_tok.iter_mut().take(cand.1).skip(cand.0) {
                        *r = true;
                    }
                }
            }
            let upper = t.toks.iter().filter(|x| x.upper).count();
            let title_case = t.len() >= 3 && upper * 10 >= t.len() * 6;
            let ctx = SentCtx {
                no: s.no,
                text: s.text,
                start: s.start,
                end: s.end,
                in_title: s.in_title,
                t,
                spans: &spans,
                dates: &dates,
                places: &places,
                all_places: &all_places,
                role_tok: &role_tok,
                title_case,
                dateline: dateline_place.as_ref(),
                published: doc.published,
                prev_person: prev_person.as_ref(),
            };
            self.code_sentence(&ctx, &vhits, &mut out);
            prev_person = spans
                .iter()
                .filter(|a| a.person && !a.locative)
                .map(|a| a.actor.clone())
                .next()
                .or_else(|| {
                    // A sentence whose subject is "he"/"she" keeps the referent alive.
                    if PRONOUNS.contains(&t.word(0)) {
                        prev_person.clone()
                    } else {
                        None
                    }
                });
        }
        out
    }

    fn code_sentence(&self, c: &SentCtx<'_>, vhits: &[VerbHit], out: &mut Vec<CodedMention>) {
        let t = c.t;
        let mut prev_sources: Option<Vec<Actor>> = None;
        for (vi, v) in vhits.iter().enumerate() {
            let Some(info) = self.verbs.info(v.cameo) else {
                continue;
            };
            let prev_end = if vi > 0 { vhits[vi - 1].e } else { 0 };
            let in_span = |k: usize| c.spans.iter().any(|a| a.s <= k && k < a.e);
            if !v.noun && v.form & (verbs::F_PAST | verbs::F_PP | verbs::F_ING) == 0 {
                // "a drone attack", "the Iranian missile attack": a determiner shortly
                // before a base/-s form, with no participant in between, makes it a noun.
                let mut is_noun = false;
                for back in 1..=4usize {
                    let Some(k) = v.s.checked_sub(back) else {
                        break;
                    };
                    if c.spans.iter().any(|a| a.s <= k && k < a.e && !a.weak)
                        || t.punct_before(k + 1) != 0
                    {
                        break;
                    }
                    if matches!(
                        t.word(k),
                        "the" | "a" | "an" | "its" | "their" | "his" | "her"
                    ) {
                        is_noun = true;
                        break;
                    }
                }
                // "British strikes", "Chinese investment": a bare demonym right before.
                if v.s >= 1 && c.spans.iter().any(|a| a.weak && a.e == v.s) {
                    is_noun = true;
                }
                // "rejected UN demands": right after the previous pattern's object.
                if let Some(p) = vi.checked_sub(1).and_then(|i| vhits.get(i))
                    && p.e < v.s
                    && (p.e..v.s).all(|k| in_span(k) || matches!(t.word(k), "the" | "a" | "an"))
                    && !(p.e + 1..=v.s).any(|k| t.punct_before(k) != 0)
                {
                    is_noun = true;
                }
                if is_noun {
                    continue;
                }
            }
            let next_factual = vhits[vi + 1..]
                .iter()
                .find(|n| !n.nonfactual)
                .map_or(t.len(), |n| n.s);
            let strong = |a: &ActorSpan| !a.weak && !a.locative;
            let group_of = |g: usize| -> Vec<&ActorSpan> {
                c.spans
                    .iter()
                    .filter(|a| a.group == g && strong(a))
                    .collect()
            };

            let mut how = How::Subject;
            let mut sources: Vec<Actor> = Vec::new();
            let mut subject_end: Option<usize> = None;
            let mut targets: Vec<Actor> = Vec::new();
            let mut target_found_by = 0.0f32;

            if v.passive {
                how = How::Passive;
                // Agent: "by <actor>" after the verb.
                if let Some(a) = c.spans.iter().find(|a| {
                    strong(a)
                        && a.s >= v.e
                        && a.s <= v.e + 6
                        && preceded_by_by(t, a.s)
                        && !t.stop_between(v.e, a.s)
                }) {
                    sources = group_of(a.group)
                        .into_iter()
                        .map(|x| x.actor.clone())
                        .collect();
                }
                // Patient: the subject before the verb.
                if let Some(a) = c.spans.iter().rev().find(|a| {
                    strong(a)
                        && a.e <= v.s
                        && a.s >= prev_end
                        && !t.stop_between(a.e.saturating_sub(1), v.s)
                }) {
                    targets = group_of(a.group)
                        .into_iter()
                        .map(|x| x.actor.clone())
                        .collect();
                    subject_end = Some(a.e);
                    target_found_by = 1.0;
                }
                // "sanctions were imposed by the EU on Iranian officials"
                if targets.is_empty()
                    && let Some(a) = c.spans.iter().find(|a| {
                        !a.locative
                            && a.s > v.e
                            && a.s <= v.e + 10
                            && !t.stop_between(v.e, a.s)
                            && matches!(t.word(a.s - 1), "on" | "against" | "to" | "with" | "at")
                    })
                {
                    targets = vec![a.actor.clone()];
                    target_found_by = 0.7;
                }
            } else if v.noun {
                how = How::Nominal;
                // "<actor>'s invasion", "the Russian invasion", "invasion of X by <actor>"
                let before = c.spans.iter().rev().find(|a| {
                    !a.locative
                        && a.e <= v.s
                        && (a.e == v.s
                            || (v.s - a.e <= 2
                                && (a.e..v.s).all(|k| {
                                    matches!(
                                        t.word(k),
                                        "s" | "full" | "scale" | "military" | "brutal"
                                    )
                                })))
                });
                if let Some(a) = before {
                    sources = if a.weak {
                        vec![a.actor.clone()]
                    } else {
                        group_of(a.group)
                            .into_iter()
                            .map(|x| x.actor.clone())
                            .collect()
                    };
                } else if let Some(a) = c
                    .spans
                    .iter()
                    .find(|a| strong(a) && a.s > v.e && a.s <= v.e + 6 && preceded_by_by(t, a.s))
                {
                    sources = group_of(a.group)
                        .into_iter()
                        .map(|x| x.actor.clone())
                        .collect();
                } else if v.s >= 1
                    && matches!(t.word(v.s - 1), "his" | "her" | "its" | "their")
                    && let Some(a) = c
                        .spans
                        .iter()
                        .rev()
                        .find(|a| strong(a) && a.e < v.s && !preceded_by_prep(t, a.s))
                {
                    sources = group_of(a.group)
                        .into_iter()
                        .map(|x| x.actor.clone())
                        .collect();
                }
                // Target right after the nominal (weak demonyms allowed after "of").
                if let Some(a) = c.spans.iter().find(|a| {
                    !a.locative
                        && a.s >= v.e
                        && a.s <= v.e + 1
                        && (strong(a) || t.word(v.e - 1) == "of")
                        && !sources.iter().any(|s| s.start == a.actor.start)
                }) {
                    targets = if a.weak {
                        vec![a.actor.clone()]
                    } else {
                        group_of(a.group)
                            .into_iter()
                            .map(|x| x.actor.clone())
                            .collect()
                    };
                    target_found_by = 1.0;
                }
            } else {
                let coordinated = prev_sources.is_some()
                    && v.s >= 1
                    && (matches!(t.word(v.s - 1), "and" | "then")
                        || (v.s >= 2
                            && t.word(v.s - 2) == "and"
                            && t.word(v.s - 1).ends_with("ly")));
                let inverted = v.no_target
                    && t.toks.get(v.e).is_some_and(|x| x.upper)
                    && t.punct_before(v.e) == 0
                    && t.punct_before(v.s) & (text::P_COMMA | text::P_QUOTE) != 0;
                // "officials said", "Town predicts": the subject right before the verb is a
                // person or group we do not know, so no earlier actor may stand in for it.
                let unknown_subject = v.s >= 1 && {
                    let k = v.s - 1;
                    !in_span(k)
                        && (c.role_tok.get(k).copied().unwrap_or(false)
                            || (!c.title_case
                                && t.toks.get(k).is_some_and(|x| x.upper)
                                && !FUNCTION_WORDS.contains(&t.word(k))))
                };
                if coordinated {
                    // Coordinated predicate: "Putin criticized X and defended Y".
                    sources = prev_sources.clone().unwrap_or_default();
                    how = How::Inherited;
                } else if inverted {
                    // "..., says Town": the speaker follows the verb.
                    if let Some(a) = c.spans.iter().find(|a| strong(a) && a.s == v.e) {
                        sources = group_of(a.group)
                            .into_iter()
                            .map(|x| x.actor.clone())
                            .collect();
                    }
                } else if unknown_subject {
                    // no source
                } else if let Some(a) = c.spans.iter().rev().find(|a| {
                    strong(a)
                        && a.e <= v.s
                        && a.s >= prev_end
                        && !preceded_by_prep(t, a.s)
                        && !t.stop_between(a.e.saturating_sub(1), v.s)
                        && !(a.e + 1..=v.s).any(|k| t.punct_before(k) & text::P_QUOTE != 0)
                        && !(a.e..v.s).any(|k| STRONG_BREAKS.contains(&t.word(k)))
                }) {
                    sources = group_of(a.group)
                        .into_iter()
                        .map(|x| x.actor.clone())
                        .collect();
                    subject_end = Some(a.e);
                } else if let Some(ps) = &prev_sources {
                    if !t.stop_between(prev_end, v.s)
                        && (prev_end..v.s).all(|k| !CLAUSE_BREAKS.contains(&t.word(k)))
                    {
                        sources = ps.clone();
                        how = How::Inherited;
                    }
                } else if vi == 0
                    && let Some(p) = c.prev_person
                    && (0..v.s).any(|k| {
                        PRONOUNS.contains(&t.word(k))
                            && (k == 0
                                || t.punct_before(k) & text::P_QUOTE != 0
                                || t.word(k - 1) == "but")
                    })
                    && !c.spans.iter().any(|a| strong(a) && a.e <= v.s)
                {
                    sources = vec![p.clone()];
                    how = How::Pronoun;
                }
                if !v.no_target {
                    // From the end of the head: a gap pattern ("defend ... against") may hold the object.
                    // Infinitive complements are skipped ("refused to send tanks to Ukraine").
                    let limit = next_factual.min(v.e + 12);
                    // Start inside the pattern: "clash with police" names its own target.
                    let mut k = v.s + 1;
                    while k < limit {
                        if k > v.head_e && t.punct_before(k) & (text::P_STOP | text::P_COMMA) != 0 {
                            break;
                        }
                        if CLAUSE_BREAKS.contains(&t.word(k))
                            && !(t.word(k) == "as" && t.word(k + 1) == "well")
                        {
                            // "demanded that Denmark sell": the complement's subject is the target.
                            if t.word(k) == "that" && (k == v.head_e || k == v.e) {
                                k += 1;
                                continue;
                            }
                            break;
                        }
                        // "arrived in Russia", "invested in Argentina": the pattern's own
                        // preposition introduces the target, not a place.
                        if let Some(a) = c
                            .spans
                            .iter()
                            .find(|a| a.s == k && (!a.locative || a.s == v.e))
                        {
                            if !preceded_by_by(t, a.s) {
                                targets = if a.weak {
                                    vec![a.actor.clone()]
                                } else {
                                    group_of(a.group)
                                        .into_iter()
                                        .map(|x| x.actor.clone())
                                        .collect()
                                };
                                target_found_by =
                                    if a.s == v.e || (a.s == v.e + 1 && t.word(v.e) == "the") {
                                        1.0
                                    } else {
                                        0.7
                                    };
                            }
                            break;
                        }
                        k += 1;
                    }
                }
            }
            // "the treaty and other agreements signed on Wednesday": a reduced relative with
            // no participant in the sentence refers back to the latest asserted event with
            // the same code in the previous sentences (same date if this one gives a date).
            if sources.is_empty()
                && !v.noun
                && v.form & (verbs::F_PAST | verbs::F_PP) != 0
                && !c.spans.iter().any(|a| !a.weak && !a.locative)
                && v.s >= 2
                && (v.s.saturating_sub(6)..v.s).any(|k| t.word(k) == "the")
                && !in_span(v.s - 1)
            {
                let date = nearest_date(c.dates, v).map(|d| d.date);
                let antecedent = out.iter().rev().find(|m| {
                    m.status == Status::Asserted
                        && m.mention.cameo == info.code
                        && m.mention.sentence_no < c.no
                        && m.mention.sentence_no + 30 >= c.no
                        && date.is_none_or(|d| d == m.mention.date)
                });
                if let Some(ante) = antecedent.map(|m| (m.mention.sentence_no, m.mention.date)) {
                    let copies: Vec<CodedMention> = out
                        .iter()
                        .filter(|m| {
                            m.status == Status::Asserted
                                && m.mention.sentence_no == ante.0
                                && m.mention.cameo == info.code
                                && m.mention.date == ante.1
                        })
                        .cloned()
                        .collect();
                    let action_start = t.toks.get(v.s).map_or(0, |x| x.start as usize);
                    let action_end = t
                        .toks
                        .get(v.e.saturating_sub(1))
                        .map_or(action_start, |x| x.end as usize);
                    for mut m in copies {
                        let x = &mut m.mention;
                        x.sentence_no = c.no;
                        x.sentence = c.text.to_string();
                        x.sentence_start = c.start;
                        x.sentence_end = c.end;
                        x.in_title = c.in_title;
                        // The participants come from the earlier sentence: no offsets here.
                        x.source.start = 0;
                        x.source.end = 0;
                        if let Some(tg) = x.target.as_mut() {
                            tg.start = 0;
                            tg.end = 0;
                        }
                        x.action_start = action_start;
                        x.action_end = action_end;
                        x.action_text = c
                            .text
                            .chars()
                            .skip(action_start)
                            .take(action_end - action_start)
                            .collect();
                        x.date_source = if date.is_some() {
                            "text".into()
                        } else {
                            x.date_source.clone()
                        };
                        x.place = self.mention_place(c, v, &info.code).or(x.place.clone());
                        x.confidence = 0.35;
                        out.push(m);
                    }
                }
                continue;
            }
            // Passive without agent, or no subject: no event.
            if sources.is_empty() {
                continue;
            }
            // Attacks and visits without an actor object: the place attacked or visited
            // gives the target country ("shelled Kherson", "struck targets in Pakistan").
            if targets.is_empty() && (matches!(info.root, 15 | 17..=20) || info.code == "042") {
                let limit = next_factual.min(v.e + 12);
                if let Some(ph) = c.all_places.iter().find(|p| {
                    p.s >= v.head_e
                        && p.s < limit
                        && !(v.head_e..p.s).any(|k| CLAUSE_BREAKS.contains(&t.word(k)))
                        && !t.stop_between(v.head_e, p.s)
                        && !(v.head_e + 1..=p.s).any(|k| t.punct_before(k) & text::P_COMMA != 0)
                }) && let Some(place) = self.places.get(ph.place)
                    && let Some(ct) = self.actors.country_by_iso(&place.country)
                    && !sources
                        .iter()
                        .any(|s| s.country.as_deref() == Some(ct.iso3.as_str()))
                {
                    let a = self
                        .actors
                        .actor_from_code(&ct.iso3, &ct.name, t, ph.s, ph.e);
                    targets = vec![a];
                    target_found_by = 0.5;
                }
            }
            if v.needs_target && targets.is_empty() {
                continue;
            }
            prev_sources = Some(sources.clone());

            // Negation and hedging between the subject (or previous pattern) and the verb.
            let win_start = subject_end.unwrap_or(prev_end).max(prev_end);
            let mut status = Status::Asserted;
            if v.nonfactual {
                status = Status::Hedged;
            }
            for k in win_start..v.s {
                let w = t.word(k);
                if NEGATIONS.contains(&w)
                    || (w == "t" && k > 0 && AUX_FOR_NT.contains(&t.word(k - 1)))
                {
                    status = Status::Negated;
                    break;
                }
                if HEDGES.contains(&w) {
                    status = Status::Hedged;
                }
            }
            if status == Status::Asserted
                && (prev_end..v.s).any(|k| CLAUSE_HEDGES.contains(&t.word(k)))
            {
                status = Status::Hedged;
            }
            // Nominal events without a date of their own are background ("the invasion of
            // Ukraine"): the publication date would misdate them, so they are left out.
            let next_start = vhits.get(vi + 1).map_or(t.len(), |n| n.s);
            let first_start = vhits.first().map_or(0, |f| f.s);
            let date = clause_date(t, c.dates, v, prev_end, next_start, first_start);
            if v.noun && date.is_none() {
                status = if status == Status::Asserted {
                    Status::Hedged
                } else {
                    status
                };
            }

            let (date_v, date_source, precision) = match date {
                Some(d) => (d.date, "text", d.precision.as_str()),
                None => (c.published, "published", "day"),
            };
            // People's roles are resolved against the event date, not the publication date.
            if date_v != c.published {
                for a in sources.iter_mut().chain(targets.iter_mut()) {
                    if let Some(pid) = self.actors.person_id_by_name(&a.name) {
                        self.actors.recode_person(a, pid, date_v);
                    }
                }
            }
            // An act requested, promised, refused or threatened in an earlier pattern's
            // complement ("demanded that Israel withdraw") is not asserted.
            if status == Status::Asserted
                && vhits[..vi].iter().any(|u| {
                    u.e <= v.s
                        && self
                            .verbs
                            .info(u.cameo)
                            .is_some_and(|i| matches!(i.root, 2 | 3 | 10 | 12 | 13))
                        && !t.stop_between(u.e, v.s)
                        && (u.s + 1..v.s).any(|k| matches!(t.word(k), "that" | "to"))
                })
            {
                status = Status::Hedged;
            }
            let place = self.mention_place(c, v, info.code.as_str());

            let action_start = t.toks.get(v.s).map_or(0, |x| x.start as usize);
            let action_end = t
                .toks
                .get(v.e.saturating_sub(1))
                .map_or(action_start, |x| x.end as usize);
            let action_text: String = c
                .text
                .chars()
                .skip(action_start)
                .take(action_end.saturating_sub(action_start))
                .collect();

            let base = match how {
                How::Subject => 0.7,
                How::Passive => 0.7,
                How::Nominal => 0.55,
                How::Inherited => 0.55,
                How::Pronoun => 0.45,
            };
            let spec = if v.e - v.s >= 2 { 0.1 } else { 0.0 };

            // "South Korea and the United States signed ...": a target that repeats a
            // source is no target.
            if sources.len() >= 2 {
                targets.retain(|tg| !sources.iter().any(|s| s.code == tg.code));
            }
            // A symmetric code told one way round by its pattern ("ratified") is directed.
            let pairing = match info.pairing {
                Pairing::Symmetric if v.directed => Pairing::Mutual,
                p => p,
            };
            let mut pairs: Vec<(Actor, Option<Actor>)> = Vec::new();
            if !targets.is_empty() {
                for s in &sources {
                    for tg in &targets {
                        pairs.push((s.clone(), Some(tg.clone())));
                    }
                }
            } else if sources.len() >= 2 && pairing != Pairing::Directed {
                // "A and B met": each unordered pair once when symmetric, both directed
                // pairs when mutual ("A and B exchanged prisoners").
                for (i, s) in sources.iter().enumerate() {
                    for (j, tg) in sources.iter().enumerate() {
                        let wanted = if pairing == Pairing::Symmetric {
                            i < j
                        } else {
                            i != j
                        };
                        if wanted && s.start != tg.start {
                            pairs.push((s.clone(), Some(tg.clone())));
                        }
                    }
                }
                target_found_by = 0.8;
            } else {
                for s in &sources {
                    pairs.push((s.clone(), None));
                }
            }
            if pairing == Pairing::Symmetric {
                // Canonical direction: "Putin signed with Kim" and "Kim and Putin signed" are
                // one event. Each actor keeps its own offsets, so they still point at its text.
                let mut canonical: Vec<(Actor, Option<Actor>)> = Vec::with_capacity(pairs.len());
                for (s, tg) in pairs {
                    let (s, tg) = match tg {
                        Some(tg) if canonical_before(&tg, &s) => (tg, Some(s)),
                        tg => (s, tg),
                    };
                    let same = |(a, b): &(Actor, Option<Actor>)| {
                        a.code == s.code
                            && a.name == s.name
                            && b.as_ref().map(|b| (&b.code, &b.name))
                                == tg.as_ref().map(|t| (&t.code, &t.name))
                    };
                    if !canonical.iter().any(same) {
                        canonical.push((s, tg));
                    }
                }
                pairs = canonical;
            }
            let conf = (base + spec + 0.15 * target_found_by).min(1.0f32);
            for (s, tg) in pairs {
                let mut st = status;
                if let Some(tg) = &tg
                    && tg.code == s.code
                    && tg.name == s.name
                {
                    st = Status::SelfEvent;
                }
                out.push(CodedMention {
                    mention: Mention {
                        sentence_no: c.no,
                        sentence: c.text.to_string(),
                        sentence_start: c.start,
                        sentence_end: c.end,
                        in_title: c.in_title,
                        source: s,
                        target: tg,
                        cameo: info.code.clone(),
                        root: info.root,
                        quad_class: info.quad,
                        goldstein: info.goldstein,
                        plover: info.plover.clone(),
                        action_start,
                        action_end,
                        action_text: action_text.clone(),
                        date: date_v,
                        date_source: date_source.to_string(),
                        date_precision: precision.to_string(),
                        place: place.clone(),
                        confidence: (conf * 100.0).round() / 100.0,
                    },
                    status: st,
                });
            }
        }
    }

    fn mention_place(&self, c: &SentCtx<'_>, v: &VerbHit, cameo: &str) -> Option<Place> {
        let t = c.t;
        let nearest = c
            .places
            .iter()
            .filter(|p| {
                let (a, b) = if p.s >= v.e { (v.e, p.s) } else { (p.e, v.s) };
                // A fronted place ("In Washington on Tuesday, ...") covers the whole sentence.
                p.s <= 1
                    || (!(a..b).any(|k| CLAUSE_BREAKS.contains(&t.word(k)))
                        && !t.stop_between(a, b))
            })
            .min_by_key(|p| {
                if p.s >= v.e {
                    p.s - v.e
                } else {
                    v.s.saturating_sub(p.e) + 1
                }
            });
        if let Some(p) = nearest.and_then(|p| self.places.get(p.place)) {
            return Some(p.clone());
        }
        // A visit happens at the destination ("visited Kyiv").
        if cameo == "042"
            && let Some(a) = c.spans.iter().find(|a| a.s >= v.e && a.s <= v.e + 1)
            && let Some(country) = &a.actor.country
        {
            let name: String = c
                .text
                .chars()
                .skip(a.actor.start)
                .take(a.actor.end - a.actor.start)
                .collect();
            if a.via_city
                && let Some(p) = self.places.lookup(&name)
            {
                return Some(p.clone());
            }
            if let Some(ct) = self.actors.country_by_iso(country) {
                return Some(Place {
                    name: ct.name.clone(),
                    country: ct.iso3.clone(),
                    lat: ct.lat,
                    lon: ct.lon,
                });
            }
        }
        c.dateline.cloned()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum How {
    Subject,
    Passive,
    Nominal,
    Inherited,
    Pronoun,
}

struct SentCtx<'a> {
    no: usize,
    text: &'a str,
    start: usize,
    end: usize,
    in_title: bool,
    t: &'a Tokens,
    spans: &'a [ActorSpan],
    dates: &'a [DateExpr],
    places: &'a [places::PlaceHit],
    /// Every place name, with or without a preposition (for attack/visit targets).
    all_places: &'a [places::PlaceHit],
    /// Tokens covered by role words ("officials"), actor or not.
    role_tok: &'a [bool],
    title_case: bool,
    dateline: Option<&'a Place>,
    published: NaiveDate,
    prev_person: Option<&'a Actor>,
}

/// Canonical order of the two actors of a symmetric event: `a` comes first when its
/// event-identity code ([`event_key_code`]: the country, else the whole code) sorts before
/// `b`'s; ties by full code, then name, then position in the sentence.
fn canonical_before(a: &Actor, b: &Actor) -> bool {
    fn key(x: &Actor) -> (&str, &str, &str, usize) {
        (
            x.country.as_deref().unwrap_or(x.code.as_str()),
            x.code.as_str(),
            x.name.as_str(),
            x.start,
        )
    }
    key(a) < key(b)
}

fn preceded_by_by(t: &Tokens, s: usize) -> bool {
    (s >= 1 && t.word(s - 1) == "by") || (s >= 2 && t.word(s - 2) == "by" && t.word(s - 1) == "the")
}

fn preceded_by_prep(t: &Tokens, s: usize) -> bool {
    let w = if s >= 1 { t.word(s - 1) } else { "" };
    let w = if w == "the" && s >= 2 {
        t.word(s - 2)
    } else {
        w
    };
    NO_SUBJECT_PREP.contains(&w)
}

/// The date of a pattern: the closest date expression in its clause (between the
/// neighbouring patterns, no comma in between), else one fronted before the first pattern
/// of the sentence ("On Tuesday, ...", "In July of 2023, ...").
/// "Drones attacked Moscow on Tuesday, officials said": the statement is not dated Tuesday.
fn clause_date<'a>(
    t: &Tokens,
    dates: &'a [DateExpr],
    v: &VerbHit,
    prev_end: usize,
    next_start: usize,
    first_start: usize,
) -> Option<&'a DateExpr> {
    let breaks = |a: usize, b: usize| {
        (a + 1..=b).any(|k| t.punct_before(k) & (text::P_COMMA | text::P_STOP) != 0)
    };
    let in_clause: Vec<DateExpr> = dates
        .iter()
        .filter(|d| {
            d.s >= prev_end
                && d.e <= next_start.max(v.e)
                && if d.s >= v.e {
                    !breaks(v.e.saturating_sub(1), d.s)
                } else {
                    !breaks(d.e.saturating_sub(1), v.s)
                }
        })
        .copied()
        .collect();
    match nearest_date(&in_clause, v) {
        Some(d) => dates.iter().find(|x| **x == *d),
        None => dates
            .iter()
            .find(|d| d.e <= first_start && t.punct_before(d.e) & text::P_COMMA != 0),
    }
}

/// The date expression closest to the pattern (ties go to the one after it).
fn nearest_date<'a>(dates: &'a [DateExpr], v: &VerbHit) -> Option<&'a DateExpr> {
    dates.iter().min_by_key(|d| {
        if d.s >= v.e {
            2 * (d.s - v.e)
        } else {
            2 * v.s.saturating_sub(d.e) + 1
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn coder_is_send_and_sync() {
        assert_send_sync::<Coder>();
    }

    #[test]
    fn event_id_is_stable_hex() {
        let d = NaiveDate::from_ymd_opt(2024, 6, 19).unwrap_or_default();
        let a = event_id(d, "RUS", Some("PRK"), "057", Some("KOR"));
        assert_eq!(a.len(), 32);
        assert_eq!(a, event_id(d, "RUS", Some("PRK"), "057", Some("KOR")));
        assert_ne!(a, event_id(d, "PRK", Some("RUS"), "057", Some("KOR")));
    }
}
