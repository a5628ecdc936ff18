//! Transactional outbox: outgoing Kafka messages are written to Postgres in the same
//! transaction as the rows they describe, and a relay publishes them with an idempotent
//! producer and deletes them only after the broker acknowledged every one.
//!
//! Delivery to Kafka is therefore at-least-once (a crash between the broker's ack and the
//! delete re-sends a few messages), and consumers deduplicate on the message key, which is a
//! deterministic id. One relay at a time publishes (a transaction-scoped advisory lock), so
//! messages leave in the order they were committed and updates of one key are never reordered
//! across replicas; the others stand by and take over within a poll interval.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::Notify;

use crate::Shutdown;

/// Advisory lock key held by the active relay (an arbitrary constant: "newsflow outbox").
const RELAY_LOCK: i64 = 0x6e65_7773_6f62_7831;

/// A message waiting to be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub topic: String,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    /// Kafka headers; values are raw bytes (a DLQ message keeps the original's headers).
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Turns `original` (the DLQ topic, and the message's own key, bytes and headers) into a
/// dead-letter message: headers naming the error class and reason, the source
/// topic/partition/offset and the service are added, so an operator can inspect and replay it.
pub fn dead_letter(
    mut original: OutboxMessage,
    service: &str,
    position: &crate::stage::Position,
    class: &str,
    reason: &str,
) -> OutboxMessage {
    original.headers.extend([
        ("newsflow.error.class".to_owned(), class.as_bytes().to_vec()),
        (
            "newsflow.error.reason".to_owned(),
            reason.as_bytes().to_vec(),
        ),
        (
            "newsflow.source.topic".to_owned(),
            position.topic.as_bytes().to_vec(),
        ),
        (
            "newsflow.source.partition".to_owned(),
            position.partition.to_string().into_bytes(),
        ),
        (
            "newsflow.source.offset".to_owned(),
            position.offset.to_string().into_bytes(),
        ),
        ("newsflow.service".to_owned(), service.as_bytes().to_vec()),
    ]);
    original
}

fn encode_headers(headers: &[(String, Vec<u8>)]) -> serde_json::Value {
    // JSON cannot hold raw bytes, so values are stored hex-encoded.
    serde_json::Value::Array(
        headers
            .iter()
            .map(|(k, v)| {
                let hex: String = v.iter().map(|b| format!("{b:02x}")).collect();
                serde_json::json!([k, hex])
            })
            .collect(),
    )
}

fn decode_headers(value: &serde_json::Value) -> Vec<(String, Vec<u8>)> {
    let Some(items) = value.as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let key = item.get(0)?.as_str()?;
            let hex = item.get(1)?.as_str()?;
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()?;
            Some((key.to_owned(), bytes))
        })
        .collect()
}

/// Adds messages to the outbox inside the caller's transaction.
pub async fn enqueue(
    tx: &mut Transaction<'_, Postgres>,
    messages: &[OutboxMessage],
) -> Result<(), sqlx::Error> {
    if messages.is_empty() {
        return Ok(());
    }
    let topics: Vec<&str> = messages.iter().map(|m| m.topic.as_str()).collect();
    let keys: Vec<Option<&[u8]>> = messages.iter().map(|m| m.key.as_deref()).collect();
    let payloads: Vec<&[u8]> = messages.iter().map(|m| m.payload.as_slice()).collect();
    let headers: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| encode_headers(&m.headers))
        .collect();
    sqlx::query(
        "INSERT INTO outbox (topic, key, payload, headers)
         SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::jsonb[])",
    )
    .bind(&topics)
    .bind(&keys)
    .bind(&payloads)
    .bind(&headers)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// id, topic, key, payload, headers of a stored message.
type OutboxRow = (i64, String, Option<Vec<u8>>, Vec<u8>, serde_json::Value);

/// Errors of one relay round.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("outbox query failed: {0}")]
    Db(#[from] sqlx::Error),
    #[error("publishing to {topic} failed: {error}")]
    Publish {
        topic: String,
        error: rdkafka::error::KafkaError,
    },
}

/// Publishes the outbox.
pub struct Relay {
    pool: PgPool,
    producer: FutureProducer,
    /// Woken by the stage after each commit so messages leave without waiting for a poll.
    notify: Arc<Notify>,
    batch: i64,
    poll: Duration,
}

impl Relay {
    pub fn new(pool: PgPool, producer: FutureProducer, notify: Arc<Notify>) -> Self {
        Self {
            pool,
            producer,
            notify,
            batch: 1000,
            poll: Duration::from_millis(250),
        }
    }

    /// One round: publishes up to `batch` messages in commit order and deletes them.
    /// Returns how many were published (0 also when another replica holds the relay lock).
    pub async fn relay_once(&self) -> Result<usize, RelayError> {
        let mut tx = self.pool.begin().await?;
        let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(RELAY_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        if !leader {
            return Ok(0);
        }
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT id, topic, key, payload, headers FROM outbox ORDER BY id LIMIT $1",
        )
        .bind(self.batch)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        // Enqueue everything first (the producer batches and keeps per-partition order),
        // then wait for every acknowledgement before deleting anything.
        let deliveries = rows.iter().map(|(_, topic, key, payload, headers)| {
            let mut owned = OwnedHeaders::new();
            for (k, v) in decode_headers(headers) {
                owned = owned.insert(Header {
                    key: &k,
                    value: Some(&v),
                });
            }
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic)
                .payload(payload.as_slice())
                .headers(owned);
            if let Some(key) = key {
                record = record.key(key.as_slice());
            }
            self.producer.send(record, Duration::from_secs(30))
        });
        let results = join_all(deliveries).await;
        for (result, (_, topic, ..)) in results.into_iter().zip(&rows) {
            if let Err((error, _)) = result {
                return Err(RelayError::Publish {
                    topic: topic.clone(),
                    error,
                });
            }
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        metrics::counter!("newsflow_outbox_published_total").increment(ids.len() as u64);
        Ok(ids.len())
    }

    /// Runs until shutdown, then drains what is left (bounded by the caller's grace period)
    /// and flushes the producer. Transient failures are retried with backoff; the relay never
    /// gives up on a message.
    pub async fn run(self, shutdown: Shutdown) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.relay_once().await {
                Ok(n) if n > 0 => {
                    backoff = Duration::from_millis(100);
                    continue;
                }
                Ok(_) => {
                    if shutdown.is_triggered() {
                        break;
                    }
                    tokio::select! {
                        () = self.notify.notified() => {}
                        () = tokio::time::sleep(self.poll) => {}
                        () = shutdown.wait() => {}
                    }
                }
                Err(e) => {
                    metrics::counter!("newsflow_outbox_errors_total").increment(1);
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "outbox relay failed");
                    if shutdown.is_triggered() {
                        break;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = shutdown.wait() => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        let _ = self.producer.flush(Duration::from_secs(10));
        tracing::info!("outbox relay stopped");
    }
}

/// Messages still waiting in the outbox (for the readiness check and the gauge).
pub async fn pending(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_binary_values() {
        let headers = vec![
            ("error.class".to_owned(), b"invalid_json".to_vec()),
            ("raw".to_owned(), vec![0, 255, 10]),
        ];
        assert_eq!(decode_headers(&encode_headers(&headers)), headers);
    }
}
