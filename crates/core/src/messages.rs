//! The messages newsflow services publish to each other, so producer and consumer share one
//! definition of the wire format.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::article::Article;

/// A first-seen article on `news.articles` (key: `article_key`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleMessage {
    /// Deterministic id over canonical URL and content; also the message key.
    pub article_key: String,
    /// Row id in `articles`.
    pub article_id: i64,
    pub external_id: Option<String>,
    pub url: Option<String>,
    pub canonical_url: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub text: String,
    pub source: Option<String>,
    pub language: Option<String>,
    pub authors: Vec<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub ingested_at: DateTime<Utc>,
}

impl ArticleMessage {
    pub fn new(
        article: &Article,
        article_key: String,
        article_id: i64,
        ingested_at: DateTime<Utc>,
    ) -> Self {
        Self {
            article_key,
            article_id,
            external_id: article.external_id.clone(),
            url: article.url.clone(),
            canonical_url: article.canonical_url.clone(),
            title: article.title.clone(),
            description: article.description.clone(),
            text: article.text.clone(),
            source: article.source.clone(),
            language: article.language.clone(),
            authors: article.authors.clone(),
            published_at: article.published_at,
            ingested_at,
        }
    }
}

/// A copy that dedup linked to an original, on `news.articles.duplicates` (key: the
/// original's `article_key`, so it follows the original on the same partition). The extract
/// stage counts it as a further report of the original's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateMessage {
    /// The copy's own key and row id.
    pub article_key: String,
    pub article_id: i64,
    /// The original it copies.
    pub original_key: String,
    pub original_id: i64,
    /// exact_url | exact_text | near_duplicate | truncated
    pub kind: String,
    pub similarity: f64,
    pub url: Option<String>,
    pub source: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub ingested_at: DateTime<Utc>,
}

/// A participant of an event on `news.events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventActor {
    pub code: String,
    pub name: String,
    pub country: Option<String>,
    pub role: Option<String>,
}

/// Where an event happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPlace {
    pub name: Option<String>,
    pub country: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// One report of an event, as evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEvidence {
    pub url: Option<String>,
    pub source: Option<String>,
    pub sentence_no: i32,
    pub sentence: String,
    /// Carried over from the original to a syndicated copy.
    pub is_copy: bool,
}

/// An event on `news.events` (key: `event_id`); every update is published again under the
/// same key, so the latest message per key is the event's current state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventMessage {
    pub event_id: String,
    pub date: chrono::NaiveDate,
    pub date_precision: String,
    pub source: EventActor,
    pub target: Option<EventActor>,
    pub cameo: String,
    pub root: i16,
    pub quad_class: i16,
    pub goldstein: f32,
    pub plover: String,
    pub place: Option<EventPlace>,
    pub num_mentions: i32,
    pub num_articles: i32,
    pub num_sources: i32,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub story_id: Option<i64>,
    pub coder_version: String,
    /// Up to five reports, originals first.
    pub evidence: Vec<EventEvidence>,
}
