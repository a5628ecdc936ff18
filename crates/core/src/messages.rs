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
