//! A deterministic synthetic news stream with labelled duplicates, for load tests,
//! demos and scoring the dedup stage against a known ground truth. Pure logic, no I/O.
//!
//! The stream mixes independent originals, articles on the same story written afresh
//! (`same_topic`, which dedup must *not* flag) and four kinds of duplicates of recent
//! originals: exact reposts, syndicated copies, light edits and truncated copies. Each
//! [`SynthArticle`] carries its JSON (news-please or generic scraper shape) and its
//! [`Truth`]. Memory is bounded: duplicates are drawn from a ring of the last
//! [`RING_CAPACITY`] originals, so a stream of millions of articles runs in a few MB.

mod compose;
pub mod hostile;
mod render;
mod score;
mod vocab;

#[cfg(test)]
mod tests;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use render::plain_text_article;
pub use score::{Decision, KindScore, Score, score};

use compose::{Doc, Edit, Story, Writer};
use render::{Format, Meta};
use vocab::VOCAB;

/// How many recent originals duplicates are drawn from.
pub const RING_CAPACITY: usize = 2_000;

/// What stream to generate. The same config always yields byte-identical JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Seeds the ChaCha8 generator; also part of every id (`syn-{seed}-{n}`).
    pub seed: u64,
    /// Number of articles the iterator yields.
    pub articles: usize,
    /// Share of the stream that duplicates an earlier article (default 0.3).
    pub duplicate_ratio: f64,
    /// Mean length of an original in words (default 600); lengths vary ±40 %.
    pub mean_words: usize,
    /// Publication time of the first article; each later one is 1–6 minutes later.
    pub start: DateTime<Utc>,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            articles: 10_000,
            duplicate_ratio: 0.3,
            mean_words: 600,
            // The week of the Russia–North Korea summit, matching the sample input and
            // the leaders named in data/synth/actors.txt.
            start: Utc
                .with_ymd_and_hms(2024, 6, 17, 6, 0, 0)
                .single()
                .unwrap_or(DateTime::UNIX_EPOCH),
        }
    }
}

/// Ground truth of one article, joined to dedup decisions by `id`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Truth {
    pub id: String,
    pub kind: TruthKind,
    /// The id of the article this one duplicates; `None` for originals and same_topic.
    pub original_id: Option<String>,
    /// For same_topic articles, the id of the recent article (an original or another
    /// same_topic article) whose story this one retells; `None` otherwise. Additional
    /// field: absent from older truth files and omitted from JSON when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_of: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum TruthKind {
    /// A new article on a new story.
    Original,
    /// Identical title and text at a tracking-parameter, AMP/mobile or other outlet URL.
    ExactRepost,
    /// The same body on another outlet: new headline, bylines/copyright lines changed.
    Syndicated,
    /// One to three sentences rewritten, inserted or deleted; headline tweaked.
    LightEdit,
    /// The first 40–70 % of the paragraphs, sometimes with "Continue reading...".
    Truncated,
    /// A new, independently written article on a recent story: not a duplicate.
    SameTopic,
}

impl TruthKind {
    pub const ALL: [TruthKind; 6] = [
        TruthKind::Original,
        TruthKind::ExactRepost,
        TruthKind::Syndicated,
        TruthKind::LightEdit,
        TruthKind::Truncated,
        TruthKind::SameTopic,
    ];

    /// Whether dedup should flag an article of this kind as a duplicate.
    pub fn is_duplicate(self) -> bool {
        !matches!(self, TruthKind::Original | TruthKind::SameTopic)
    }

    /// The snake_case name used in JSON and in [`Score::per_kind`].
    pub fn as_str(self) -> &'static str {
        match self {
            TruthKind::Original => "original",
            TruthKind::ExactRepost => "exact_repost",
            TruthKind::Syndicated => "syndicated",
            TruthKind::LightEdit => "light_edit",
            TruthKind::Truncated => "truncated",
            TruthKind::SameTopic => "same_topic",
        }
    }
}

/// One generated article: the raw scraper JSON and what it really is.
#[derive(Debug, Clone)]
pub struct SynthArticle {
    pub json: serde_json::Value,
    pub truth: Truth,
}

/// An original kept so later duplicates can copy it.
#[derive(Debug)]
struct Kept {
    id: String,
    url: String,
    outlet: u16,
    title: String,
    authors: Vec<String>,
    doc: Doc,
    story: Story,
}

/// A duplicate as built from a kept original, before rendering.
#[derive(Debug)]
struct Copied {
    url: String,
    outlet: u16,
    title: String,
    authors: Vec<String>,
    doc: Doc,
}

/// Streams [`SynthArticle`]s; see the module docs.
#[derive(Debug)]
pub struct Generator {
    cfg: SynthConfig,
    rng: ChaCha8Rng,
    /// Index of the next article.
    n: usize,
    time: DateTime<Utc>,
    /// The last [`RING_CAPACITY`] originals and same-topic articles; `ring_next` is
    /// where the next one is written once the ring is full.
    ring: Vec<Kept>,
    ring_next: usize,
}

impl Generator {
    pub fn new(cfg: SynthConfig) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            time: cfg.start,
            n: 0,
            ring: Vec::with_capacity(RING_CAPACITY.min(cfg.articles)),
            ring_next: 0,
            cfg,
        }
    }

    fn draw_kind(&mut self) -> TruthKind {
        // Out-of-range (or NaN) ratios are clamped rather than panicking mid-stream.
        let ratio = if self.cfg.duplicate_ratio.is_nan() {
            0.0
        } else {
            self.cfg.duplicate_ratio.clamp(0.0, 1.0)
        };
        let dup = self.rng.random_bool(ratio);
        if self.ring.is_empty() {
            return TruthKind::Original;
        }
        if dup {
            match self.rng.random_range(0..20u8) {
                0..=4 => TruthKind::ExactRepost,
                5..=10 => TruthKind::Syndicated,
                11..=15 => TruthKind::LightEdit,
                _ => TruthKind::Truncated,
            }
        } else if self.rng.random_bool(0.15) {
            TruthKind::SameTopic
        } else {
            TruthKind::Original
        }
    }

    /// A recent ring entry, biased towards the newest: copies follow their original
    /// within minutes to hours, rarely days later.
    fn pick_recent(&mut self) -> usize {
        let len = self.ring.len();
        let u: f64 = self.rng.random();
        let age = ((u * u * u) * len as f64) as usize;
        let newest = if len < RING_CAPACITY {
            len - 1
        } else {
            (self.ring_next + RING_CAPACITY - 1) % RING_CAPACITY
        };
        (newest + len - age.min(len - 1)) % len
    }

    fn other_outlet(&mut self, not: u16) -> u16 {
        let n = VOCAB.outlets.len() as u16;
        (not + self.rng.random_range(1..n)) % n
    }

    fn authors(&mut self) -> Vec<String> {
        let v = &*VOCAB;
        let k = self.rng.random_range(0..=2usize);
        (0..k)
            .map(|_| {
                let f = v.first_names[self.rng.random_range(0..v.first_names.len())];
                let l = v.surnames[self.rng.random_range(0..v.surnames.len())];
                format!("{f} {l}")
            })
            .collect()
    }

    fn original(&mut self, story: Story) -> Kept {
        let v = &*VOCAB;
        let outlet = self.rng.random_range(0..v.outlets.len()) as u16;
        let mean = self.cfg.mean_words.max(1) as f64;
        let target = (mean * self.rng.random_range(0.6..=1.4)).round().max(1.0) as usize;
        let date = self.time.date_naive();
        let authors = self.authors();
        let mut w = Writer::new(&mut self.rng, story, date, outlet);
        let title = w.headline();
        let wire = v.outlets[outlet as usize].wire;
        let prefix = if w.rng.random_bool(if wire { 0.7 } else { 0.15 }) {
            w.prefix()
        } else {
            String::new()
        };
        let footer: Vec<String> = (0..w.rng.random_range(0..=2u8))
            .map(|_| w.suffix())
            .collect();
        // The length target covers what a reader sees, boilerplate included.
        let boilerplate = compose::count_words(&prefix)
            + footer
                .iter()
                .map(|f| compose::count_words(f))
                .sum::<usize>();
        let mut doc = w.article(target.saturating_sub(boilerplate).max(1));
        doc.prefix = prefix;
        doc.footer = footer;
        let url = render::article_url(outlet, self.time, &title, self.cfg.seed, self.n);
        Kept {
            id: self.id(self.n),
            url,
            outlet,
            title,
            authors,
            doc,
            story,
        }
    }

    fn id(&self, n: usize) -> String {
        format!("syn-{}-{n}", self.cfg.seed)
    }

    fn keep(&mut self, kept: Kept) {
        if self.ring.len() < RING_CAPACITY {
            self.ring.push(kept);
        } else {
            self.ring[self.ring_next] = kept;
            self.ring_next = (self.ring_next + 1) % RING_CAPACITY;
        }
    }

    fn format(&mut self) -> Format {
        if self.rng.random_bool(0.5) {
            Format::NewsPlease
        } else if self.rng.random_bool(1.0 / 3.0) {
            Format::GenericHtml
        } else {
            Format::Generic
        }
    }

    /// Builds a duplicate of ring entry `src` of the given (duplicate) kind.
    fn duplicate(&mut self, kind: TruthKind, src: usize) -> Copied {
        let date = self.time.date_naive();
        let seed = self.cfg.seed;
        let n = self.n;
        let time = self.time;
        let orig = &self.ring[src];
        let (o_url, o_outlet, o_title, o_story) = (
            orig.url.clone(),
            orig.outlet,
            orig.title.clone(),
            orig.story,
        );
        match kind {
            TruthKind::ExactRepost => {
                let doc = self.ring[src].doc.clone();
                let authors = self.ring[src].authors.clone();
                match self.rng.random_range(0..3u8) {
                    0 => {
                        let url = render::with_tracking(&o_url, &mut self.rng);
                        Copied {
                            url,
                            outlet: o_outlet,
                            title: o_title,
                            authors,
                            doc,
                        }
                    }
                    1 => {
                        let url = render::amp_variant(&o_url, &mut self.rng);
                        Copied {
                            url,
                            outlet: o_outlet,
                            title: o_title,
                            authors,
                            doc,
                        }
                    }
                    _ => {
                        let outlet = self.other_outlet(o_outlet);
                        let url = render::article_url(outlet, time, &o_title, seed, n);
                        Copied {
                            url,
                            outlet,
                            title: o_title,
                            authors,
                            doc,
                        }
                    }
                }
            }
            TruthKind::Syndicated => {
                let outlet = self.other_outlet(o_outlet);
                let mut doc = self.ring[src].doc.clone();
                let mut w = Writer::new(&mut self.rng, o_story, date, outlet);
                let mut title = w.headline();
                for _ in 0..4 {
                    if title != o_title {
                        break;
                    }
                    title = w.headline();
                }
                // Byline on top: added where there was none, else replaced or dropped.
                doc.prefix = if doc.prefix.is_empty() || w.rng.random_bool(0.5) {
                    w.prefix()
                } else {
                    String::new()
                };
                doc.footer.clear();
                for _ in 0..w.rng.random_range(0..=2u8) {
                    let s = w.suffix();
                    doc.footer.push(s);
                }
                let url = render::article_url(outlet, time, &title, seed, n);
                Copied {
                    url,
                    outlet,
                    title,
                    authors: Vec::new(),
                    doc,
                }
            }
            TruthKind::LightEdit => {
                let same_url = self.rng.random_bool(0.5);
                let outlet = if same_url {
                    o_outlet
                } else {
                    self.other_outlet(o_outlet)
                };
                let sentences = self.ring[src].doc.sentence_count();
                let count = self.rng.random_range(1..=3usize).min(sentences);
                let mut edits: Vec<(usize, Edit)> = Vec::with_capacity(count);
                while edits.len() < count {
                    let at = self.rng.random_range(0..sentences);
                    if edits.iter().any(|&(i, _)| i == at) {
                        continue;
                    }
                    let e = match self.rng.random_range(0..3u8) {
                        // Deleting from a very short article would leave nothing.
                        0 if sentences > 4 => Edit::Delete,
                        1 => Edit::InsertAfter,
                        _ => Edit::Rewrite,
                    };
                    edits.push((at, e));
                }
                let authors = self.ring[src].authors.clone();
                let mut w = Writer::new(&mut self.rng, o_story, date, outlet);
                let doc = compose::edited(&self.ring[src].doc, &mut w, &edits);
                let title = render::tweak_title(&o_title, &mut w);
                let url = if same_url {
                    o_url
                } else {
                    render::article_url(outlet, time, &title, seed, n)
                };
                Copied {
                    url,
                    outlet,
                    title,
                    authors,
                    doc,
                }
            }
            TruthKind::Truncated => {
                let outlet = if self.rng.random_bool(0.7) {
                    self.other_outlet(o_outlet)
                } else {
                    o_outlet
                };
                let paragraphs = self.ring[src].doc.paragraph_count();
                let share = self.rng.random_range(0.4..=0.7);
                let keep =
                    ((paragraphs as f64 * share).round() as usize).clamp(1, paragraphs.max(1));
                let mut doc = compose::truncated(&self.ring[src].doc, keep, share);
                let mut w = Writer::new(&mut self.rng, o_story, date, outlet);
                if w.rng.random_bool(0.6) {
                    let c = w.continue_reading();
                    doc.footer.push(c);
                }
                let url = if outlet == o_outlet {
                    render::amp_variant(&o_url, &mut self.rng)
                } else {
                    render::article_url(outlet, time, &o_title, seed, n)
                };
                Copied {
                    url,
                    outlet,
                    title: o_title,
                    authors: Vec::new(),
                    doc,
                }
            }
            TruthKind::Original | TruthKind::SameTopic => {
                unreachable!("duplicate() is only called for duplicate kinds")
            }
        }
    }
}

impl Iterator for Generator {
    type Item = SynthArticle;

    fn next(&mut self) -> Option<SynthArticle> {
        if self.n >= self.cfg.articles {
            return None;
        }
        if self.n > 0 {
            self.time += TimeDelta::seconds(self.rng.random_range(60..=360));
        }
        let kind = self.draw_kind();
        let format = self.format();
        let id = self.id(self.n);
        let (json, original_id, topic_of) = match kind {
            TruthKind::Original | TruthKind::SameTopic => {
                let mut topic_of = None;
                let story = if kind == TruthKind::SameTopic {
                    let src = self.pick_recent();
                    topic_of = Some(self.ring[src].id.clone());
                    let mut s = self.ring[src].story;
                    // Another report of the same story: same actors and topic, the action
                    // and place sometimes told differently.
                    if self.rng.random_bool(0.3) {
                        s.verb = Story::random(&mut self.rng).verb;
                    }
                    s
                } else {
                    Story::random(&mut self.rng)
                };
                let kept = self.original(story);
                let meta = Meta {
                    id: &kept.id,
                    url: &kept.url,
                    title: &kept.title,
                    outlet: kept.outlet,
                    published: self.time,
                    authors: &kept.authors,
                };
                let json = render::to_json(format, &meta, &kept.doc, &mut self.rng);
                self.keep(kept);
                (json, None, topic_of)
            }
            _ => {
                let src = self.pick_recent();
                let Copied {
                    url,
                    outlet,
                    title,
                    authors,
                    doc,
                } = self.duplicate(kind, src);
                let meta = Meta {
                    id: &id,
                    url: &url,
                    title: &title,
                    outlet,
                    published: self.time,
                    authors: &authors,
                };
                let json = render::to_json(format, &meta, &doc, &mut self.rng);
                (json, Some(self.ring[src].id.clone()), None)
            }
        };
        self.n += 1;
        Some(SynthArticle {
            json,
            truth: Truth {
                id,
                kind,
                original_id,
                topic_of,
            },
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.cfg.articles.saturating_sub(self.n);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Generator {}
