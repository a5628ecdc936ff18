//! Writing synthetic news text: a story's cast, sentences filled from templates,
//! whole documents (paragraphs of sentences plus outlet boilerplate) and headlines.

use std::fmt::Write as _;

use chrono::{Datelike, Days, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::vocab::{Form, MAX_TEMPLATES, Role, Seg, Slot, Template, VOCAB, Vocab};

/// What an article is about: who does what to whom, on what, where. Duplicates keep
/// their original's story; same-topic articles reuse it with fresh wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Story {
    pub a: u16,
    pub b: u16,
    pub topic: u16,
    pub verb: u16,
    pub place: u16,
}

impl Story {
    pub fn random(rng: &mut ChaCha8Rng) -> Self {
        let v = &*VOCAB;
        let a = rng.random_range(0..v.actors.len());
        // Distinct actors: self-events are noise an event coder is meant to drop.
        let mut b = rng.random_range(0..v.actors.len() - 1);
        if b >= a {
            b += 1;
        }
        Self {
            a: a as u16,
            b: b as u16,
            topic: rng.random_range(0..v.topics.len()) as u16,
            verb: rng.random_range(0..v.verbs.len()) as u16,
            place: rng.random_range(0..v.places.len()) as u16,
        }
    }
}

/// An article body: sentences stored back to back in one buffer (no per-sentence
/// allocation), grouped into paragraphs, plus the outlet's wrapping.
#[derive(Debug, Clone, Default)]
pub(super) struct Doc {
    text: String,
    /// Byte ranges of the sentences in `text`.
    sentences: Vec<(u32, u32)>,
    /// Number of sentences in each paragraph, in order.
    paragraphs: Vec<u16>,
    /// Byline or dateline glued before the first sentence, e.g. "SEOUL (Reuters) -".
    pub prefix: String,
    /// Paragraphs after the story: copyright, "Read more", reporting credits.
    pub footer: Vec<String>,
}

impl Doc {
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            sentences: Vec::with_capacity(bytes / 100),
            paragraphs: Vec::with_capacity(bytes / 200),
            prefix: String::new(),
            footer: Vec::new(),
        }
    }

    pub fn sentence_count(&self) -> usize {
        self.sentences.len()
    }

    pub fn paragraph_count(&self) -> usize {
        self.paragraphs.iter().filter(|&&n| n > 0).count()
    }

    pub fn sentence(&self, i: usize) -> &str {
        let (s, e) = self.sentences[i];
        &self.text[s as usize..e as usize]
    }

    /// Appends a copied sentence to the current (open) paragraph.
    pub fn push_sentence(&mut self, s: &str) {
        let start = self.text.len();
        self.text.push_str(s);
        self.close_sentence(start);
    }

    /// Records the sentence written since `start`. The last `paragraphs` entry counts
    /// the open paragraph; `end_paragraph` opens a new one with a `0` entry.
    fn close_sentence(&mut self, start: usize) {
        self.sentences.push((start as u32, self.text.len() as u32));
        match self.paragraphs.last_mut() {
            Some(n) => *n += 1,
            None => self.paragraphs.push(1),
        }
    }

    /// Ends the current paragraph; the next sentence starts a new one.
    pub fn end_paragraph(&mut self) {
        if self.paragraphs.last().is_some_and(|&n| n > 0) {
            self.paragraphs.push(0);
        }
    }

    /// Drops a trailing empty paragraph marker left by `end_paragraph`.
    pub fn finish(&mut self) {
        if self.paragraphs.last() == Some(&0) {
            self.paragraphs.pop();
        }
    }

    /// Sentence index ranges of each paragraph.
    pub fn paragraph_spans(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        let mut next = 0usize;
        self.paragraphs.iter().filter(|&&n| n > 0).map(move |&n| {
            let r = next..next + n as usize;
            next += n as usize;
            r
        })
    }

    /// Words of the story proper (without boilerplate).
    pub fn word_count(&self) -> usize {
        self.sentences
            .iter()
            .map(|&(s, e)| count_words(&self.text[s as usize..e as usize]))
            .sum()
    }

    /// The body as plain text: paragraphs separated by a blank line.
    pub fn write_plain(&self, out: &mut String) {
        for (p, span) in self.paragraph_spans().enumerate() {
            if p > 0 {
                out.push_str("\n\n");
            } else if !self.prefix.is_empty() {
                out.push_str(&self.prefix);
                out.push(' ');
            }
            for (k, i) in span.enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                out.push_str(self.sentence(i));
            }
        }
        for f in &self.footer {
            out.push_str("\n\n");
            out.push_str(f);
        }
    }

    /// The body as `<p>` elements, text escaped.
    pub fn write_html(&self, out: &mut String) {
        for (p, span) in self.paragraph_spans().enumerate() {
            out.push_str("<p>");
            if p == 0 && !self.prefix.is_empty() {
                html_escape::encode_text_to_string(&self.prefix, out);
                out.push(' ');
            }
            for (k, i) in span.enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                html_escape::encode_text_to_string(self.sentence(i), out);
            }
            out.push_str("</p>\n");
        }
        for f in &self.footer {
            out.push_str("<p>");
            html_escape::encode_text_to_string(f, out);
            out.push_str("</p>\n");
        }
    }
}

/// Fills templates for one article: the story, a third actor looking on, the outlet
/// and the publication date that relative dates ("on Tuesday") are anchored to.
pub(super) struct Writer<'a> {
    pub rng: &'a mut ChaCha8Rng,
    pub story: Story,
    /// The onlooker actor `{C}`, chosen per article.
    pub c: u16,
    pub date: NaiveDate,
    pub outlet: u16,
}

const SMALL_NUMBERS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn pick<'v, T>(rng: &mut ChaCha8Rng, items: &'v [T]) -> &'v T {
    &items[rng.random_range(0..items.len())]
}

fn word(rng: &mut ChaCha8Rng, items: &[&'static str]) -> &'static str {
    items[rng.random_range(0..items.len())]
}

/// Words in generated text, where words are separated by single spaces. A byte
/// count that vectorises: splitting on whitespace was a tenth of generation time.
pub(super) fn count_words(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        s.bytes().filter(|&b| b == b' ').count() + 1
    }
}

/// "a" or "an" by the word's first letter; good enough for this vocabulary.
fn with_article(word: &str, out: &mut String) {
    let vowel = word
        .bytes()
        .next()
        .is_some_and(|b| matches!(b.to_ascii_lowercase(), b'a' | b'e' | b'i' | b'o' | b'u'));
    out.push_str(if vowel { "an " } else { "a " });
    out.push_str(word);
}

/// Upper-cases the character at byte `at` if it is an ASCII lower-case letter.
pub(super) fn capitalize_at(s: &mut String, at: usize) {
    if let Some(c) = s[at..].chars().next()
        && c.is_ascii_lowercase()
    {
        s.replace_range(at..at + 1, &c.to_ascii_uppercase().to_string());
    }
}

impl<'a> Writer<'a> {
    pub fn new(rng: &'a mut ChaCha8Rng, story: Story, date: NaiveDate, outlet: u16) -> Self {
        let n = VOCAB.actors.len();
        let mut c = rng.random_range(0..n);
        while c == story.a as usize || c == story.b as usize {
            c = (c + 1) % n;
        }
        Self {
            rng,
            story,
            c: c as u16,
            date,
            outlet,
        }
    }

    fn v(&self) -> &'static Vocab {
        &VOCAB
    }

    /// Writes `t` into `out`, upper-casing its first letter.
    pub fn sentence(&mut self, t: &Template, out: &mut String) {
        let start = out.len();
        self.fill(t, out, 0);
        capitalize_at(out, start);
    }

    pub fn fill(&mut self, t: &Template, out: &mut String, depth: u8) {
        for seg in &t.segs {
            match *seg {
                Seg::Lit(s) => out.push_str(s),
                Seg::Slot(slot) => self.slot(slot, out, depth),
            }
        }
    }

    fn day_before(&mut self, max: u64) -> NaiveDate {
        let k = self.rng.random_range(0..=max);
        self.date
            .checked_sub_days(Days::new(k))
            .unwrap_or(self.date)
    }

    fn actor(&mut self, role: Role, form: Form, out: &mut String) {
        let v = self.v();
        let idx = match role {
            Role::A => self.story.a,
            Role::B => self.story.b,
            Role::C => self.c,
        };
        let act = &v.actors[idx as usize];
        let form = if form == Form::Any {
            match self.rng.random_range(0..20u8) {
                0..=6 => Form::Name,
                7..=9 => Form::Leader,
                10..=11 => Form::Short,
                // "New York" does not stand for the UN the way "Moscow" stands for Russia.
                12..=13 if !act.is_organisation() => Form::Capital,
                12..=13 => Form::Government,
                14..=15 => Form::Government,
                16..=17 => Form::Minister,
                _ => {
                    out.push_str(act.demonym);
                    out.push(' ');
                    out.push_str(word(self.rng, &v.groups));
                    return;
                }
            }
        } else {
            form
        };
        match form {
            Form::Any | Form::Name => out.push_str(act.name),
            Form::Demonym => out.push_str(act.demonym),
            Form::Capital => out.push_str(act.capital),
            Form::Government => out.push_str(act.government),
            Form::Short => out.push_str(act.leader_short),
            Form::Leader | Form::Minister => {
                out.push_str(act.demonym);
                out.push(' ');
                out.push_str(if form == Form::Leader {
                    act.leader
                } else {
                    act.minister
                });
            }
        }
    }

    fn number(&mut self, out: &mut String) {
        let n: u32 = self.rng.random_range(2..=40);
        if n < 10 {
            out.push_str(SMALL_NUMBERS[n as usize]);
        } else {
            let _ = write!(out, "{n}");
        }
    }

    fn slot(&mut self, slot: Slot, out: &mut String, depth: u8) {
        let v = self.v();
        match slot {
            Slot::Actor(role, form) => self.actor(role, form, out),
            Slot::MainVerb => out.push_str(v.verbs[self.story.verb as usize].past),
            Slot::HeadVerb => out.push_str(v.verbs[self.story.verb as usize].present),
            Slot::Verb => out.push_str(pick(self.rng, &v.verbs).past),
            Slot::Topic => out.push_str(v.topics[self.story.topic as usize]),
            Slot::Topic2 => out.push_str(word(self.rng, &v.topics)),
            Slot::MainPlace => out.push_str(v.places[self.story.place as usize].city),
            Slot::Place => out.push_str(pick(self.rng, &v.places).city),
            Slot::Day => match self.rng.random_range(0..10u8) {
                0..=5 => {
                    let d = self.day_before(2);
                    out.push_str("on ");
                    out.push_str(WEEKDAYS[d.weekday().num_days_from_monday() as usize]);
                }
                6 => {
                    let d = self.day_before(3);
                    let _ = write!(out, "on {} {}", v.months[d.month0() as usize], d.day());
                }
                7 => out.push_str("earlier this week"),
                8 => {
                    let d = self.day_before(1);
                    out.push_str("late on ");
                    out.push_str(WEEKDAYS[d.weekday().num_days_from_monday() as usize]);
                }
                _ => out.push_str("this week"),
            },
            Slot::Date => {
                let d = self.day_before(7);
                let _ = write!(out, "{} {}", v.months[d.month0() as usize], d.day());
            }
            Slot::Month => out.push_str(word(self.rng, &v.months)),
            Slot::Year => {
                let y = self.rng.random_range(1950..=2012);
                let _ = write!(out, "{y}");
            }
            Slot::RecentYear => {
                let now = self.date.year();
                let y = self.rng.random_range(now - 10..now);
                let _ = write!(out, "{y}");
            }
            Slot::Num => self.number(out),
            Slot::Big => {
                let n = self.rng.random_range(2..=950u32);
                let _ = match self.rng.random_range(0..3u8) {
                    0 => write!(out, "{n} million"),
                    1 => write!(out, "{n},{:03}", self.rng.random_range(0..1000u32)),
                    _ => write!(out, "{n},000"),
                };
            }
            Slot::Money => {
                let n = self.rng.random_range(1..=90u32);
                let d = self.rng.random_range(1..=9u32);
                let _ = match self.rng.random_range(0..3u8) {
                    0 => write!(out, "${n}.{d} billion"),
                    1 => write!(out, "${n}{d} million"),
                    _ => write!(out, "about ${n} billion"),
                };
            }
            Slot::Pct => {
                let n = self.rng.random_range(1..=60u32);
                let _ = if self.rng.random_bool(0.5) {
                    write!(out, "{n} percent")
                } else {
                    write!(out, "{n}.{} percent", self.rng.random_range(1..=9u32))
                };
            }
            Slot::Person => {
                out.push_str(word(self.rng, &v.first_names));
                out.push(' ');
                out.push_str(word(self.rng, &v.surnames));
                out.push_str(", ");
                if depth < 3 {
                    let role = pick(self.rng, &v.roles);
                    self.fill(role, out, depth + 1);
                }
            }
            Slot::Name => {
                out.push_str(word(self.rng, &v.first_names));
                out.push(' ');
                out.push_str(word(self.rng, &v.surnames));
            }
            Slot::Said => out.push_str(word(self.rng, &v.said)),
            Slot::Quote => {
                if depth < 3 {
                    let start = out.len();
                    let q = pick(self.rng, &v.quotes);
                    self.fill(q, out, depth + 1);
                    capitalize_at(out, start);
                }
            }
            Slot::Adj => out.push_str(word(self.rng, &v.adjectives)),
            Slot::AnAdj => with_article(word(self.rng, &v.adjectives), out),
            Slot::AnSector => with_article(word(self.rng, &v.sectors), out),
            Slot::Adv => out.push_str(word(self.rng, &v.adverbs)),
            Slot::Sector => out.push_str(word(self.rng, &v.sectors)),
            Slot::Weapon => out.push_str(word(self.rng, &v.weapons)),
            Slot::Group => out.push_str(word(self.rng, &v.groups)),
            Slot::Institution => out.push_str(word(self.rng, &v.institutions)),
            Slot::Region => out.push_str(word(self.rng, &v.regions)),
            Slot::Wire => {
                let own = &v.outlets[self.outlet as usize];
                let name = if own.wire {
                    own.name
                } else {
                    let wires = v.outlets.iter().filter(|o| o.wire).count();
                    let k = self.rng.random_range(0..wires);
                    v.outlets
                        .iter()
                        .filter(|o| o.wire)
                        .nth(k)
                        .map_or(own.name, |o| o.name)
                };
                out.push_str(name);
            }
            Slot::Outlet => out.push_str(v.outlets[self.outlet as usize].name),
            Slot::Dateline => {
                let place = &v.places[self.story.place as usize];
                out.extend(place.city.chars().map(|c| c.to_ascii_uppercase()));
                if !place.country.starts_with("the ")
                    && place.country != place.city
                    && self.rng.random_bool(0.5)
                {
                    out.push_str(", ");
                    out.push_str(place.country);
                }
            }
            Slot::DatelineCity => out.push_str(v.places[self.story.place as usize].city),
            Slot::YearNow => {
                let _ = write!(out, "{}", self.date.year());
            }
            Slot::MonthNow => out.push_str(v.months[self.date.month0() as usize]),
            Slot::DayNow => {
                let _ = write!(out, "{}", self.date.day());
            }
            Slot::Headline => {
                if depth < 3 {
                    let start = out.len();
                    let h = pick(self.rng, &v.headlines);
                    self.fill(h, out, depth + 1);
                    capitalize_at(out, start);
                }
            }
        }
    }

    /// A headline for the story, different each call.
    pub fn headline(&mut self) -> String {
        let mut out = String::with_capacity(96);
        let h = pick(self.rng, &self.v().headlines);
        self.sentence(h, &mut out);
        out
    }

    /// One new body sentence (used for articles and for light edits).
    pub fn body_sentence(&mut self, doc: &mut Doc) {
        let t = pick(self.rng, &self.v().body);
        self.sentence_into(t, doc);
    }

    fn sentence_into(&mut self, t: &Template, doc: &mut Doc) {
        let start = doc.text.len();
        self.sentence(t, &mut doc.text);
        doc.close_sentence(start);
    }

    /// A whole article of about `target_words` words: a lead paragraph about the
    /// story's main event, then short paragraphs of varied sentences.
    pub fn article(&mut self, target_words: usize) -> Doc {
        let v = self.v();
        let mut doc = Doc::with_capacity(target_words * 7);
        let lead = pick(self.rng, &v.leads);
        self.sentence_into(lead, &mut doc);
        let mut words = doc.word_count();
        // Avoid repeating a template within one article: repeats would read badly and
        // make near-duplicate detection between articles of one story too easy.
        let mut used = [0u64; MAX_TEMPLATES / 64];
        let mut in_paragraph = 1;
        let mut paragraph_len = if self.rng.random_bool(0.3) { 2 } else { 1 };
        // Sentences average ~20 words: stopping half a sentence early centres the
        // overshoot of the last one on the target.
        while words + 10 < target_words {
            if in_paragraph >= paragraph_len {
                doc.end_paragraph();
                in_paragraph = 0;
                paragraph_len = match self.rng.random_range(0..20u8) {
                    0..=6 => 1,
                    7..=14 => 2,
                    _ => 3,
                };
            }
            let mut k = self.rng.random_range(0..v.body.len());
            for _ in 0..4 {
                if used[k / 64] & (1 << (k % 64)) == 0 {
                    break;
                }
                k = self.rng.random_range(0..v.body.len());
            }
            used[k / 64] |= 1 << (k % 64);
            let start = doc.text.len();
            self.sentence_into(&v.body[k], &mut doc);
            words += count_words(&doc.text[start..]);
            in_paragraph += 1;
        }
        doc.finish();
        doc
    }

    /// A byline/dateline such as "SEOUL (Reuters) -".
    pub fn prefix(&mut self) -> String {
        let mut s = String::with_capacity(48);
        let t = pick(self.rng, &self.v().prefixes);
        self.fill(t, &mut s, 0);
        s
    }

    /// A trailing boilerplate paragraph such as a copyright line.
    pub fn suffix(&mut self) -> String {
        let mut s = String::with_capacity(96);
        let t = pick(self.rng, &self.v().suffixes);
        self.fill(t, &mut s, 0);
        s
    }

    /// "Continue reading..." and friends, for truncated copies.
    pub fn continue_reading(&mut self) -> String {
        let mut s = String::with_capacity(48);
        let t = pick(self.rng, &self.v().continues);
        self.fill(t, &mut s, 0);
        s
    }
}

/// Builds a copy of `doc` with sentence-level edits: `edits` maps sentence indices to
/// what happens there. Paragraphs that end up empty disappear.
pub(super) fn edited(doc: &Doc, w: &mut Writer<'_>, edits: &[(usize, Edit)]) -> Doc {
    let mut out = Doc::with_capacity(doc.text.len() + 256);
    out.prefix.clone_from(&doc.prefix);
    out.footer.clone_from(&doc.footer);
    let spans: Vec<_> = doc.paragraph_spans().collect();
    for span in spans {
        for i in span {
            let edit = edits.iter().find(|(at, _)| *at == i).map(|&(_, e)| e);
            match edit {
                None => out.push_sentence(doc.sentence(i)),
                Some(Edit::Delete) => {}
                Some(Edit::Rewrite) => w.body_sentence(&mut out),
                Some(Edit::InsertAfter) => {
                    out.push_sentence(doc.sentence(i));
                    w.body_sentence(&mut out);
                }
            }
        }
        out.end_paragraph();
    }
    out.finish();
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Edit {
    Delete,
    Rewrite,
    InsertAfter,
}

/// The first `keep` paragraphs of `doc`, wrapping kept (footer dropped). A one-paragraph
/// article is cut by sentences instead, so a truncated copy is always shorter when it can be.
pub(super) fn truncated(doc: &Doc, keep: usize, share: f64) -> Doc {
    let mut out = Doc::with_capacity(doc.text.len());
    out.prefix.clone_from(&doc.prefix);
    if doc.paragraph_count() < 2 {
        let n = doc.sentence_count();
        let keep = ((n as f64 * share).round() as usize).clamp(1, n.max(1));
        for i in 0..keep.min(n) {
            out.push_sentence(doc.sentence(i));
        }
    } else {
        for span in doc.paragraph_spans().take(keep) {
            for i in span {
                out.push_sentence(doc.sentence(i));
            }
            out.end_paragraph();
        }
    }
    out.finish();
    out
}
