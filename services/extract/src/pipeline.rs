//! The extract stage handler: code each article's sentences off the async runtime, then merge
//! its mentions into events in one transaction.
//!
//! Merging is serialised across replicas by one transaction-scoped advisory lock held over the
//! short write phase (coding, the CPU-heavy part, runs in parallel on every replica). Under it,
//! the counts of an event are recomputed from its mentions, so they are right whatever order
//! articles and copy notices arrive in, and a redelivered message changes nothing (mentions are
//! unique per event, article, sentence and action; an extracted article is not coded twice).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use newsflow_core::coding::{Coder, Document, Mention};
use newsflow_core::messages::{ArticleMessage, DuplicateMessage};
use newsflow_core::stories::{Signature, StoryParams, signature};
use newsflow_runtime::consumer::owned_headers;
use newsflow_runtime::outbox::{self, OutboxMessage};
use newsflow_runtime::stage::{Handler, Position};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use sqlx::{Postgres, Transaction};

use crate::store;

/// One consumed message, prepared.
pub enum Item {
    /// A first-seen article and what the coder found in it.
    Article {
        article: Box<ArticleMessage>,
        mentions: Vec<Mention>,
        signature: Signature,
    },
    /// A copy of an original: its mentions are the original's.
    Copy(DuplicateMessage),
    /// A message that cannot be read: goes to the DLQ.
    Poison {
        raw: Vec<u8>,
        key: Option<Vec<u8>>,
        headers: Vec<(String, Vec<u8>)>,
        reason: String,
    },
}

/// Where the stage's messages go.
pub struct Topics {
    pub articles: String,
    pub duplicates: String,
    pub events: String,
    pub dlq: String,
}

/// The extract handler.
pub struct Extract {
    coder: Arc<Coder>,
    coder_version: String,
    stories: StoryParams,
    topics: Topics,
}

impl Extract {
    pub fn new(coder: Arc<Coder>, topics: Topics) -> Self {
        let coder_version = coder.dictionary_version();
        Self {
            coder,
            coder_version,
            stories: StoryParams::default(),
            topics,
        }
    }

    fn prepare_one(&self, message: &OwnedMessage) -> Item {
        let raw = message.payload().unwrap_or_default();
        let poison = |reason: String| Item::Poison {
            raw: raw.to_vec(),
            key: message.key().map(<[u8]>::to_vec),
            headers: owned_headers(message),
            reason,
        };
        if message.topic() == self.topics.duplicates {
            return match serde_json::from_slice::<DuplicateMessage>(raw) {
                Ok(copy) => Item::Copy(copy),
                Err(e) => poison(format!("not a copy notice: {e}")),
            };
        }
        match serde_json::from_slice::<ArticleMessage>(raw) {
            Ok(article) => {
                let published = article
                    .published_at
                    .unwrap_or(article.ingested_at)
                    .date_naive();
                let mentions = self.coder.code(&Document {
                    title: article.title.as_deref(),
                    text: &article.text,
                    published,
                });
                let signature = signature(
                    article.title.as_deref(),
                    &article.text,
                    &mentions,
                    &self.stories,
                );
                Item::Article {
                    article: Box::new(article),
                    mentions,
                    signature,
                }
            }
            Err(e) => poison(format!("not an article message: {e}")),
        }
    }

    /// The DLQ message for `item`: an unreadable message's own bytes and headers, or the
    /// article / copy notice as JSON.
    fn dlq(&self, position: &Position, item: &Item, class: &str, reason: &str) -> OutboxMessage {
        let (payload, key, headers) = match item {
            Item::Poison {
                raw, key, headers, ..
            } => (raw.clone(), key.clone(), headers.clone()),
            Item::Article { article, .. } => (
                serde_json::to_vec(article).unwrap_or_default(),
                Some(article.article_key.clone().into_bytes()),
                Vec::new(),
            ),
            Item::Copy(copy) => (
                serde_json::to_vec(copy).unwrap_or_default(),
                Some(copy.original_key.clone().into_bytes()),
                Vec::new(),
            ),
        };
        let original = OutboxMessage {
            topic: self.topics.dlq.clone(),
            key,
            payload,
            headers,
        };
        outbox::dead_letter(original, "extract", position, class, reason)
    }

    async fn write_batch(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        items: &[&(Position, Item)],
    ) -> Result<HashMap<&'static str, u64>, sqlx::Error> {
        let mut counts: HashMap<&'static str, u64> = HashMap::new();
        let mut outgoing = Vec::new();
        let mut touched: BTreeSet<String> = BTreeSet::new();
        store::lock_merge(tx).await?;
        for (position, item) in items {
            match item {
                Item::Article {
                    article,
                    mentions,
                    signature,
                } => {
                    if store::already_extracted(tx, article.article_id, &self.coder_version).await?
                    {
                        *counts.entry("already_extracted").or_default() += 1;
                        continue;
                    }
                    // The story first: the article's new events belong to it.
                    store::assign_story(tx, article, signature, &self.stories).await?;
                    touched.extend(
                        store::insert_mentions(tx, article, mentions, &self.coder_version).await?,
                    );
                    // Copies dedup linked before this original was coded count as reports too.
                    touched.extend(store::copy_mentions(tx, article.article_id, None).await?);
                    store::mark_extracted(tx, article.article_id, &self.coder_version).await?;
                    *counts.entry("article").or_default() += 1;
                    *counts.entry("mention").or_default() += mentions.len() as u64;
                }
                Item::Copy(copy) => {
                    store::join_original_story(tx, copy.original_id, copy.article_id).await?;
                    // If the original is not coded yet, its extraction will pick this copy up.
                    touched.extend(
                        store::copy_mentions(tx, copy.original_id, Some(copy.article_id)).await?,
                    );
                    *counts.entry("copy").or_default() += 1;
                }
                Item::Poison { reason, .. } => {
                    let reason = reason.clone();
                    outgoing.push(self.dlq(position, item, "unreadable", &reason));
                    store::insert_rejected(tx, position, "unreadable", &reason).await?;
                    metrics::counter!("newsflow_dlq_total", "service" => "extract", "class" => "unreadable").increment(1);
                    *counts.entry("rejected").or_default() += 1;
                }
            }
        }
        let touched: Vec<String> = touched.into_iter().collect();
        for event in store::refresh_events(tx, &touched).await? {
            outgoing.push(OutboxMessage {
                topic: self.topics.events.clone(),
                key: Some(event.event_id.clone().into_bytes()),
                payload: serde_json::to_vec(&event).unwrap_or_default(),
                headers: Vec::new(),
            });
        }
        *counts.entry("event_update").or_default() += touched.len() as u64;
        outbox::enqueue(tx, &outgoing).await?;
        Ok(counts)
    }
}

impl Handler for Extract {
    type Item = Item;

    fn prepare(&self, batch: Vec<OwnedMessage>) -> Vec<(Position, Item)> {
        batch
            .iter()
            .map(|m| {
                let position = Position {
                    topic: m.topic().to_owned(),
                    partition: m.partition(),
                    offset: m.offset(),
                };
                (position, self.prepare_one(m))
            })
            .collect()
    }

    fn write<'a>(
        &'a self,
        tx: &'a mut Transaction<'static, Postgres>,
        items: &'a [&'a (Position, Item)],
    ) -> impl std::future::Future<Output = Result<HashMap<&'static str, u64>, sqlx::Error>> + Send + 'a
    {
        self.write_batch(tx, items)
    }

    async fn write_failure(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        item: &(Position, Item),
        error: &str,
    ) -> Result<(), sqlx::Error> {
        let (position, item) = item;
        let reason = format!("storing the events failed: {error}");
        store::insert_rejected(tx, position, "store_failed", &reason).await?;
        outbox::enqueue(tx, &[self.dlq(position, item, "store_failed", &reason)]).await?;
        metrics::counter!("newsflow_dlq_total", "service" => "extract", "class" => "store_failed")
            .increment(1);
        Ok(())
    }
}
