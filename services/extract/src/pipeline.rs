//! The extract stage handler: code each article's sentences off the async runtime, then merge
//! its mentions into events in one transaction.
//!
//! A batch's transaction has two parts. First, side by side with other replicas' batches, it
//! locks its articles' rows (and its copy notices' originals'), stores their reports (mentions,
//! unique per event, article, sentence and action, so a redelivered message stores nothing
//! twice), and works out what they add to their events' counts. Then, under one
//! transaction-scoped advisory lock across replicas, it places the articles in stories (each
//! decision sees every story an earlier batch made or grew), writes the events' rows and their
//! outbox messages, and commits. Coding, the CPU-heavy part, runs in parallel on every replica
//! before either part.

use std::collections::{BTreeMap, HashMap, HashSet};
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
        let mut stored: Vec<store::Stored> = Vec::new();
        let mut latencies = Vec::new();
        let version = &self.coder_version;

        // Bulk statements for the whole batch: a handful of round trips per batch rather than
        // a dozen per article.
        let articles: Vec<(&ArticleMessage, &[Mention], &Signature)> = items
            .iter()
            .filter_map(|(_, item)| match item {
                Item::Article {
                    article,
                    mentions,
                    signature,
                } => Some((&**article, mentions.as_slice(), signature)),
                _ => None,
            })
            .collect();
        // Copy notices, as (original, copy).
        let copies: Vec<(i64, i64)> = items
            .iter()
            .filter_map(|(_, item)| match item {
                Item::Copy(copy) => Some((copy.original_id, copy.article_id)),
                _ => None,
            })
            .collect();
        let ids: Vec<i64> = articles.iter().map(|(a, _, _)| a.article_id).collect();
        let copy_originals: Vec<i64> = copies.iter().map(|(original, _)| *original).collect();

        // 1. Before the merge lock, side by side with other replicas' batches: the reports.
        let earlier = store::lock_articles(tx, &ids, &copy_originals, version).await?;
        let (done, placed) = (&earlier.extracted, &earlier.placed);
        // A re-sent article can also appear twice in one batch: code it once.
        let mut seen = HashSet::new();
        let fresh: Vec<(&ArticleMessage, &[Mention], &Signature)> = articles
            .into_iter()
            .filter(|(a, _, _)| !done.contains(&a.article_id) && seen.insert(a.article_id))
            .collect();
        if fresh.len() < ids.len() {
            counts.insert("already_extracted", (ids.len() - fresh.len()) as u64);
        }
        let fresh_ids: Vec<i64> = fresh.iter().map(|(a, _, _)| a.article_id).collect();
        if !fresh.is_empty() {
            // Copies dedup linked before these originals were coded count as reports too.
            let linked = store::copies_of(tx, &fresh_ids).await?;
            let by_original: HashMap<i64, &[Mention]> = fresh
                .iter()
                .map(|(a, mentions, _)| (a.article_id, *mentions))
                .collect();
            let mut reports: Vec<store::Report<'_>> = fresh
                .iter()
                .map(|(article, mentions, _)| store::Report::of(article, mentions))
                .collect();
            for (copy, original, source, seen) in &linked {
                if let Some(mentions) = by_original.get(original) {
                    reports.push(store::Report {
                        article_id: *copy,
                        source: source.as_deref(),
                        seen: *seen,
                        mentions,
                        is_copy: true,
                    });
                }
            }
            stored.extend(store::insert_mentions(tx, &reports, version).await?);
            *counts.entry("article").or_default() += fresh.len() as u64;
            *counts.entry("mention").or_default() +=
                fresh.iter().map(|(_, m, _)| m.len() as u64).sum::<u64>();
        }
        // Copy notices after the batch's originals: a copy of one of them is already done
        // (and redoing it changes nothing); if its original is not coded yet, that original's
        // extraction will pick the copy up.
        stored.extend(store::copy_mentions(tx, &copies, version).await?);
        if !copies.is_empty() {
            counts.insert("copy", copies.len() as u64);
        }
        for (position, item) in items {
            if let Item::Poison { reason, .. } = item {
                outgoing.push(self.dlq(position, item, "unreadable", reason));
                store::insert_rejected(tx, position, "unreadable", reason).await?;
                metrics::counter!("newsflow_dlq_total", "service" => "extract", "class" => "unreadable").increment(1);
                *counts.entry("rejected").or_default() += 1;
            }
        }
        let tally = store::tally_reports(tx, &stored, version).await?;

        // 2. Under the merge lock, one batch at a time across replicas: story decisions (each
        // sees every story an earlier batch made or grew) and the event rows.
        let waited = std::time::Instant::now();
        store::lock_merge(tx).await?;
        let locked = std::time::Instant::now();
        let mut coded: Vec<store::Coded<'_>> = Vec::new();
        if !fresh.is_empty() {
            store::register_version(tx, version).await?;
            // Articles an earlier coder version placed keep their story.
            let pairs: Vec<(&ArticleMessage, &Signature)> = fresh
                .iter()
                .filter(|(a, _, _)| !placed.contains_key(&a.article_id))
                .map(|(a, _, s)| (*a, *s))
                .collect();
            let placement = store::assign_stories(tx, &pairs, &self.stories).await?;
            let mut assigned = placement.story_ids.into_iter();
            let stories: Vec<i64> = fresh
                .iter()
                .map(|(a, _, _)| {
                    placed
                        .get(&a.article_id)
                        .copied()
                        .or_else(|| assigned.next())
                        .unwrap_or_default()
                })
                .collect();
            coded = fresh
                .iter()
                .zip(&stories)
                .map(|((article, mentions, _), story_id)| store::Coded {
                    article,
                    mentions,
                    story_id: *story_id,
                })
                .collect();
            latencies = store::mark_extracted(tx, &fresh_ids, &stories, version).await?;
            store::refresh_stories(tx, &placement.changes).await?;
        }
        store::join_original_stories(tx, &copies).await?;
        // Each event's first report in batch order: a new event takes its fields.
        let mut firsts: BTreeMap<String, (&Mention, &store::Coded<'_>)> = BTreeMap::new();
        for c in &coded {
            for m in c.mentions {
                firsts.entry(m.event_id()).or_insert((m, c));
            }
        }
        let events = store::write_events(tx, &firsts, tally, version).await?;
        *counts.entry("event_update").or_default() += events.len() as u64;
        for event in events {
            outgoing.push(OutboxMessage {
                topic: self.topics.events.clone(),
                key: Some(event.event_id.clone().into_bytes()),
                payload: serde_json::to_vec(&event).unwrap_or_default(),
                headers: Vec::new(),
            });
        }
        outbox::enqueue(tx, &outgoing).await?;
        tracing::debug!(
            lock_wait_ms = (locked - waited).as_millis() as u64,
            locked_ms = locked.elapsed().as_millis() as u64,
            "batch merged"
        );
        // Recorded before the commit: a rolled-back attempt is retried and records again,
        // which the histogram's quantiles barely feel; the alternative is no latency at all.
        for seconds in latencies {
            metrics::histogram!("newsflow_end_to_end_seconds").record(seconds);
        }
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
