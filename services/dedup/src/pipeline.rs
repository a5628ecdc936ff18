//! The dedup stage handler: parse and sketch a batch off the async runtime, then decide and
//! record it in one transaction.
//!
//! Decisions are serialised across replicas by one transaction-scoped advisory lock held from
//! the candidate lookup to the commit. With batches, nearly every batch shares some LSH band
//! with every other, so finer-grained locks would cost thousands of lock entries per
//! transaction and still serialise; the lock covers only the short write phase, while the
//! CPU-heavy parsing and sketching run in parallel on every replica. This is what makes two
//! replicas racing on near-duplicates in different partitions end with exactly one original
//! (the partial unique indexes on canonical URL and content hash are a second line of defence).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use newsflow_core::article::{Article, Limits, Rejection, parse_article};
use newsflow_core::dedup::{Decision, DedupParams, Index, Sketch, fingerprint, sketch};
use newsflow_core::messages::{ArticleMessage, DuplicateMessage};
use newsflow_runtime::consumer::owned_headers;
use newsflow_runtime::outbox::{self, OutboxMessage};
use newsflow_runtime::stage::{Handler, Position};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use sqlx::{Postgres, Transaction};

use crate::store::{self, ArticleRow, RejectedRow};

/// One consumed message, prepared.
pub struct Item {
    /// Original bytes and headers, kept for the DLQ.
    raw: Vec<u8>,
    key: Option<Vec<u8>>,
    headers: Vec<(String, Vec<u8>)>,
    parsed: Result<Parsed, Rejection>,
}

/// A valid article with everything the decision needs.
struct Parsed {
    article: Article,
    sketch: Sketch,
    article_key: String,
    content_hash: i64,
    /// The raw message's Kafka timestamp: when the article entered the pipeline.
    produced_at: Option<DateTime<Utc>>,
}

/// The dedup handler.
pub struct Dedup {
    params: DedupParams,
    limits: Limits,
    output_topic: String,
    duplicates_topic: String,
    dlq_topic: String,
}

/// Where the stage's messages go.
pub struct Topics {
    /// First-seen originals.
    pub output: String,
    /// Notices of copies linked to an original.
    pub duplicates: String,
    /// Messages that cannot become articles.
    pub dlq: String,
}

impl Dedup {
    pub fn new(params: DedupParams, limits: Limits, topics: Topics) -> Self {
        Self {
            params,
            limits,
            output_topic: topics.output,
            duplicates_topic: topics.duplicates,
            dlq_topic: topics.dlq,
        }
    }

    fn prepare_one(&self, message: &OwnedMessage) -> Item {
        let raw = message.payload().unwrap_or_default().to_vec();
        let headers = owned_headers(message);
        let produced_at = message
            .timestamp()
            .to_millis()
            .and_then(DateTime::from_timestamp_millis);
        let parsed = parse_article(&raw, &self.limits).map(|article| {
            // One pass over the words gives both the content hash and the sketch.
            let print = fingerprint(&article.text);
            Parsed {
                article_key: article.article_key_for(print.content_hash),
                content_hash: print.content_hash,
                produced_at,
                sketch: print.sketch,
                article,
            }
        });
        Item {
            raw,
            key: message.key().map(<[u8]>::to_vec),
            headers,
            parsed,
        }
    }

    /// The DLQ message for `item`: original key, bytes and headers, plus headers naming the
    /// error and where the message came from. See [`bounded_original`] for huge messages.
    fn dlq_message(
        &self,
        position: &Position,
        item: &Item,
        class: &str,
        reason: &str,
    ) -> OutboxMessage {
        let original = bounded_original(&self.dlq_topic, item);
        outbox::dead_letter(original, "dedup", position, class, reason)
    }

    async fn write_batch(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        items: &[&(Position, Item)],
    ) -> Result<HashMap<&'static str, u64>, sqlx::Error> {
        let mut counts: HashMap<&'static str, u64> = HashMap::new();
        let mut outgoing = Vec::new();
        let mut rejected = Vec::new();
        let accepted: Vec<(&Position, &Parsed)> = items
            .iter()
            .filter_map(|(pos, item)| match &item.parsed {
                Ok(parsed) => Some((pos, parsed)),
                Err(rejection) => {
                    rejected.push(RejectedRow {
                        error_class: rejection.class.as_str(),
                        reason: rejection.reason.clone(),
                        payload_bytes: i32::try_from(item.raw.len()).unwrap_or(i32::MAX),
                        position: pos.clone(),
                    });
                    outgoing.push(self.dlq_message(pos, item, rejection.class.as_str(), &rejection.reason));
                    metrics::counter!("newsflow_dlq_total", "service" => "dedup", "class" => rejection.class.as_str())
                        .increment(1);
                    None
                }
            })
            .collect();
        *counts.entry("rejected").or_default() += rejected.len() as u64;

        if !accepted.is_empty() {
            store::lock_decisions(tx).await?;
            let urls: Vec<&str> = accepted
                .iter()
                .filter_map(|(_, p)| p.article.canonical_url.as_deref())
                .collect();
            let hashes: Vec<i64> = accepted.iter().map(|(_, p)| p.content_hash).collect();
            let mut bands: Vec<i64> = accepted
                .iter()
                .flat_map(|(_, p)| p.sketch.band_keys.iter().copied())
                .collect();
            bands.sort_unstable();
            bands.dedup();
            let mut index = Index::new(self.params.clone());
            // Keys of the originals a copy may point at, for the duplicate notices.
            let mut keys: HashMap<i64, String> = HashMap::new();
            for candidate in store::candidates(tx, &urls, &hashes, &bands).await? {
                keys.insert(candidate.id, candidate.article_key.clone());
                index.insert_original(
                    candidate.id,
                    candidate.canonical_url.as_deref(),
                    candidate.content_hash,
                    &sketch(&candidate.body),
                );
            }
            let ids = store::allocate_ids(tx, accepted.len()).await?;
            let ingested_at = Utc::now();
            let mut rows = Vec::with_capacity(accepted.len());
            let mut band_rows: Vec<(i64, i64)> = Vec::new();
            for ((position, parsed), id) in accepted.iter().zip(ids) {
                let decision = index.classify(
                    parsed.article.canonical_url.as_deref(),
                    parsed.content_hash,
                    &parsed.sketch,
                );
                let duplicate = match decision {
                    Decision::Original => {
                        index.insert_original(
                            id,
                            parsed.article.canonical_url.as_deref(),
                            parsed.content_hash,
                            &parsed.sketch,
                        );
                        band_rows.extend(parsed.sketch.band_keys.iter().map(|b| (*b, id)));
                        keys.insert(id, parsed.article_key.clone());
                        let message = ArticleMessage::new(
                            &parsed.article,
                            parsed.article_key.clone(),
                            id,
                            ingested_at,
                        );
                        outgoing.push(OutboxMessage {
                            topic: self.output_topic.clone(),
                            key: Some(parsed.article_key.clone().into_bytes()),
                            payload: serde_json::to_vec(&message).unwrap_or_default(),
                            headers: Vec::new(),
                        });
                        *counts.entry("original").or_default() += 1;
                        None
                    }
                    Decision::Duplicate {
                        of,
                        kind,
                        similarity,
                    } => {
                        *counts.entry("duplicate").or_default() += 1;
                        // Keyed by the original, so every notice of one original lands on one
                        // partition, in order.
                        let original_key = keys.get(&of).cloned().unwrap_or_default();
                        let notice = DuplicateMessage {
                            article_key: parsed.article_key.clone(),
                            article_id: id,
                            original_key: original_key.clone(),
                            original_id: of,
                            kind: kind.as_str().to_owned(),
                            similarity,
                            url: parsed.article.url.clone(),
                            source: parsed.article.source.clone(),
                            published_at: parsed.article.published_at,
                            ingested_at,
                        };
                        outgoing.push(OutboxMessage {
                            topic: self.duplicates_topic.clone(),
                            key: Some(original_key.into_bytes()),
                            payload: serde_json::to_vec(&notice).unwrap_or_default(),
                            headers: Vec::new(),
                        });
                        metrics::counter!("newsflow_duplicates_total", "kind" => kind.as_str())
                            .increment(1);
                        Some((of, kind.as_str(), similarity))
                    }
                };
                rows.push(ArticleRow {
                    id,
                    article_key: &parsed.article_key,
                    article: &parsed.article,
                    content_hash: parsed.content_hash,
                    duplicate,
                    position: (*position).clone(),
                    ingested_at,
                    produced_at: parsed.produced_at,
                });
            }
            store::insert_articles(tx, &rows).await?;
            store::insert_bands(tx, &band_rows).await?;
        }
        store::insert_rejected(tx, &rejected).await?;
        outbox::enqueue(tx, &outgoing).await?;
        Ok(counts)
    }
}

/// Largest original payload a dead letter carries, in bytes. With the headers it stays under
/// the 1,000,000 bytes a Kafka producer and broker accept by default: a bigger dead letter
/// would fail to publish on every attempt and hold up the outbox behind it.
pub const DLQ_MAX_PAYLOAD_BYTES: usize = 900 * 1024;
/// Largest total size of the original's headers a dead letter carries.
pub const DLQ_MAX_HEADER_BYTES: usize = 32 * 1024;

/// The original message for the DLQ, cut to fit: a payload over [`DLQ_MAX_PAYLOAD_BYTES`]
/// keeps its first bytes and gains `newsflow.payload.truncated-from` (its full size);
/// original headers over [`DLQ_MAX_HEADER_BYTES`] in total are dropped and counted in
/// `newsflow.headers.dropped`. The full message stays on the source topic at the position
/// the dead letter names.
fn bounded_original(dlq_topic: &str, item: &Item) -> OutboxMessage {
    let mut headers = Vec::new();
    let mut header_bytes = 0usize;
    let mut dropped = 0usize;
    for (k, v) in &item.headers {
        header_bytes += k.len() + v.len();
        if header_bytes <= DLQ_MAX_HEADER_BYTES {
            headers.push((k.clone(), v.clone()));
        } else {
            dropped += 1;
        }
    }
    if dropped > 0 {
        headers.push((
            "newsflow.headers.dropped".to_owned(),
            dropped.to_string().into_bytes(),
        ));
    }
    let payload = if item.raw.len() > DLQ_MAX_PAYLOAD_BYTES {
        headers.push((
            "newsflow.payload.truncated-from".to_owned(),
            item.raw.len().to_string().into_bytes(),
        ));
        item.raw[..DLQ_MAX_PAYLOAD_BYTES].to_vec()
    } else {
        item.raw.clone()
    };
    OutboxMessage {
        topic: dlq_topic.to_owned(),
        key: item.key.clone(),
        payload,
        headers,
    }
}

impl Handler for Dedup {
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
        {
            let (position, item) = item;
            let reason = format!("storing the article failed: {error}");
            let rejected = [RejectedRow {
                error_class: "store_failed",
                reason: reason.clone(),
                payload_bytes: i32::try_from(item.raw.len()).unwrap_or(i32::MAX),
                position: position.clone(),
            }];
            store::insert_rejected(tx, &rejected).await?;
            outbox::enqueue(
                tx,
                &[self.dlq_message(position, item, "store_failed", &reason)],
            )
            .await?;
            metrics::counter!("newsflow_dlq_total", "service" => "dedup", "class" => "store_failed").increment(1);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use newsflow_core::article::{RejectClass, Rejection};

    fn item(raw: Vec<u8>, headers: Vec<(String, Vec<u8>)>) -> Item {
        Item {
            raw,
            key: Some(b"k".to_vec()),
            headers,
            parsed: Err(Rejection {
                class: RejectClass::TooLarge,
                reason: "too large".into(),
            }),
        }
    }

    #[test]
    fn small_dead_letters_keep_the_original_bytes_and_headers() {
        let original = item(b"{}".to_vec(), vec![("h".into(), b"v".to_vec())]);
        let m = bounded_original("dlq", &original);
        assert_eq!(m.payload, b"{}");
        assert_eq!(m.headers, vec![("h".to_owned(), b"v".to_vec())]);
        assert_eq!(m.key.as_deref(), Some(&b"k"[..]));
    }

    #[test]
    fn huge_dead_letters_are_cut_to_fit_a_default_kafka_message() {
        // Regression: a 20 MB message went to the outbox whole, and the relay's producer
        // (message.max.bytes 1,000,000) refused it on every attempt.
        let raw = vec![b'x'; 20 * 1024 * 1024];
        let headers = (0..100)
            .map(|i| (format!("h{i}"), vec![b'v'; 1024]))
            .collect();
        let m = bounded_original("dlq", &item(raw, headers));
        assert_eq!(m.payload.len(), DLQ_MAX_PAYLOAD_BYTES);
        let header = |name: &str| {
            m.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(
            header("newsflow.payload.truncated-from").as_deref(),
            Some("20971520")
        );
        assert_eq!(header("newsflow.headers.dropped").as_deref(), Some("69"));
        let size: usize = m.payload.len()
            + m.headers
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>();
        assert!(size < 1_000_000 - 4_096, "{size}");
    }
}
