//! Transactional outbox: outgoing Kafka messages are written to Postgres in the same
//! transaction as the rows they describe, and a relay publishes them with an idempotent
//! producer and deletes them only after the broker acknowledged every one.
//!
//! The outbox is relayed in lanes, one per output topic: each service runs a lane for each of
//! its own output topics, and one lane at a time publishes a topic (a transaction-scoped
//! advisory lock on the topic), so a topic's messages leave in the order they were committed
//! and updates of one key are never reordered across replicas; the other replicas' lanes for
//! that topic stand by and take over within a poll interval. Lanes of different topics run
//! side by side (in the 200,000-article bench a single relay for every topic fell behind the
//! stages), and a topic that is missing or slow holds back only its own messages.
//!
//! A crash between the broker's acknowledgement and the delete would re-send what was already
//! delivered. To avoid that without Kafka transactions, the relay chooses each message's
//! partition itself (a hash of the key; the outbox id for keyless messages) and stamps it with
//! its outbox id (header `newsflow.outbox.id`). An idempotent producer keeps each partition in
//! id order, so whatever reached a partition is exactly the pending rows for it up to the
//! highest id found at its end. Whenever a relay becomes the active one, or after a failed
//! round, it reads that id from the end of each partition and deletes the rows already
//! delivered before publishing anything. Consumers still get stable keys (article or event
//! ids) to deduplicate on should anything else re-send.

use std::sync::Arc;
use std::time::Duration;

use std::collections::{HashMap, VecDeque};

use futures::future::join_all;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::Notify;

use crate::Shutdown;
use crate::config::KafkaArgs;

/// Header carrying a message's outbox id.
pub const OUTBOX_ID_HEADER: &str = "newsflow.outbox.id";

/// Sub-batches a lane has handed to the producer and not yet seen acknowledged.
const WINDOW: usize = 2;

/// Most rows one round publishes before it commits.
const ROUND_LIMIT: usize = 10_000;

/// How many messages from the end of a partition are searched for the last outbox id.
const RECONCILE_WINDOW: i64 = 64;

/// The partition a message goes to: a stable hash of the key, or the outbox id for keyless
/// messages. The same key always lands on the same partition number, in every topic with the
/// same partition count.
pub fn partition_for(key: Option<&[u8]>, id: i64, partitions: i32) -> i32 {
    let n = i64::from(partitions.max(1));
    let h = match key {
        Some(k) => (xxhash_rust::xxh3::xxh3_64(k) % n as u64) as i64,
        None => id.rem_euclid(n),
    };
    i32::try_from(h).unwrap_or(0)
}

/// How long a stopping relay goes on publishing (well inside the default 20 s grace period).
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);

/// First half of the advisory lock held by a topic's active lane (an arbitrary constant,
/// "nwsr"); the second half is the topic's `hashtext`. Two topics whose hashes collide only
/// take turns.
const RELAY_LOCK: i32 = 0x6e77_7372;

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

/// id, key, payload, headers of a stored message.
type OutboxRow = (i64, Option<Vec<u8>>, Vec<u8>, serde_json::Value);

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
    #[error("reading {topic} to reconcile the outbox failed: {error}")]
    Reconcile { topic: String, error: String },
}

/// Publishes one topic's messages from the outbox (one lane; see the module docs).
pub struct Relay {
    pool: PgPool,
    producer: FutureProducer,
    /// For metadata and for reading the end of partitions when reconciling.
    kafka: KafkaArgs,
    /// The topic this lane publishes.
    topic: String,
    /// Partition count of the topic, once looked up.
    partitions: Option<i32>,
    /// False until this relay has checked what a previous active relay already delivered.
    reconciled: bool,
    /// Woken by the stage after each commit so messages leave without waiting for a poll.
    notify: Arc<Notify>,
    batch: i64,
    poll: Duration,
}

impl Relay {
    pub fn new(
        pool: PgPool,
        producer: FutureProducer,
        kafka: KafkaArgs,
        topic: String,
        notify: Arc<Notify>,
    ) -> Self {
        Self {
            pool,
            producer,
            kafka,
            topic,
            partitions: None,
            reconciled: false,
            notify,
            // Each round waits for every acknowledgement of its messages. Rounds of 5,000 were
            // slower than rounds of 1,000 in a 20,000-article run (BENCHMARKS.md).
            batch: 1000,
            poll: Duration::from_millis(250),
        }
    }

    /// Partition count of the topic (cached; looked up in the broker's metadata).
    async fn partitions(&mut self) -> Result<i32, RelayError> {
        if let Some(n) = self.partitions {
            return Ok(n);
        }
        let kafka = self.kafka.clone();
        let name = self.topic.clone();
        let topic = self.topic.clone();
        let counts =
            tokio::task::spawn_blocking(move || crate::kafka::partition_counts(&kafka, &[&name]))
                .await
                .map_err(|e| RelayError::Reconcile {
                    topic: topic.clone(),
                    error: e.to_string(),
                })?
                .map_err(|error| RelayError::Publish {
                    topic: topic.clone(),
                    error,
                })?;
        let n = counts.get(&topic).copied().unwrap_or(0);
        if n == 0 {
            return Err(RelayError::Reconcile {
                topic,
                error: "topic has no partitions (does it exist?)".into(),
            });
        }
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        self.partitions = Some(n);
        Ok(n)
    }

    /// Deletes the pending rows an earlier relay already delivered (see the module docs).
    async fn reconcile(&mut self, tx: &mut Transaction<'_, Postgres>) -> Result<usize, RelayError> {
        // Nothing pending, nothing to reconcile: no need to read the partitions' ends (slow on
        // a loaded broker, and every lane of every replica starts unreconciled).
        let pending: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM outbox WHERE topic = $1)")
                .bind(&self.topic)
                .fetch_one(&mut **tx)
                .await?;
        if !pending {
            return Ok(0);
        }
        let n = self.partitions().await?;
        let kafka = self.kafka.clone();
        let name = self.topic.clone();
        let delivered = tokio::task::spawn_blocking(move || last_outbox_ids(&kafka, &name, n))
            .await
            .map_err(|e| RelayError::Reconcile {
                topic: self.topic.clone(),
                error: e.to_string(),
            })?
            .map_err(|error| RelayError::Reconcile {
                topic: self.topic.clone(),
                error,
            })?;
        let Some(highest) = delivered.values().copied().max() else {
            return Ok(0);
        };
        let candidates: Vec<(i64, Option<Vec<u8>>)> =
            sqlx::query_as("SELECT id, key FROM outbox WHERE topic = $1 AND id <= $2")
                .bind(&self.topic)
                .bind(highest)
                .fetch_all(&mut **tx)
                .await?;
        let done: Vec<i64> = candidates
            .into_iter()
            .filter(|(id, key)| {
                delivered
                    .get(&partition_for(key.as_deref(), *id, n))
                    .is_some_and(|last| id <= last)
            })
            .map(|(id, _)| id)
            .collect();
        if !done.is_empty() {
            sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
                .bind(&done)
                .execute(&mut **tx)
                .await?;
            tracing::info!(
                topic = self.topic,
                removed = done.len(),
                "outbox rows already delivered by an earlier relay"
            );
        }
        Ok(done.len())
    }

    /// One round: publishes the topic's messages in commit order (up to `ROUND_LIMIT`, in
    /// sub-batches of `batch`) and deletes them, after removing what an earlier relay
    /// delivered when this lane has just become the active one. Returns how many rows left
    /// the outbox (0 also when another replica's lane holds the topic).
    pub async fn relay_once(&mut self) -> Result<usize, RelayError> {
        let mut tx = self.pool.begin().await?;
        let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, hashtext($2))")
            .bind(RELAY_LOCK)
            .bind(&self.topic)
            .fetch_one(&mut *tx)
            .await?;
        if !leader {
            // Another replica publishes; when this one takes over it must check what was sent.
            self.reconciled = false;
            return Ok(0);
        }
        // Reconcile and publish in the same transaction, under the same hold of the lock: the
        // lock is released at every commit, and a relay that committed its reconciliation and
        // then waited for the next round used to lose the lock to another replica, which then
        // reconciled in turn — with a slow broker, replicas passed the lock around reconciling
        // and nobody ever published (seen as a stalled outbox with no error logged).
        let removed = if self.reconciled {
            0
        } else {
            self.reconcile(&mut tx).await?
        };
        let mut in_flight = VecDeque::new();
        let published = self.publish(&mut tx, &mut in_flight).await;
        // However the round ended, what it handed to the producer is resolved before anything
        // else happens: a renewed producer must inherit nothing, and the next round's
        // reconciliation must see every message that is going to land.
        for (_, deliveries) in in_flight.drain(..) {
            join_all(deliveries).await;
        }
        let published = match published {
            Ok(n) => n,
            Err(e) => {
                if let RelayError::Publish { error, .. } = &e {
                    // Some of the round may have been delivered: the next round reconciles.
                    self.partitions = None;
                    self.renew_producer(error);
                }
                return Err(e);
            }
        };
        if published + removed > 0 {
            tx.commit().await?;
        }
        self.reconciled = true;
        metrics::counter!("newsflow_outbox_published_total").increment(published as u64);
        Ok(published + removed)
    }

    /// Publishes the round's sub-batches of `batch` rows back to back, up to `WINDOW` of them
    /// handed to the producer at once: the next one is read and enqueued while the previous
    /// one is acknowledged, so a round pays the broker's acknowledgement latency once per
    /// window, not once per sub-batch. Each acknowledged sub-batch is deleted in `tx`; the
    /// round ends when the topic has nothing more (or after `ROUND_LIMIT` rows, to keep
    /// transactions short). On an error, what is still unacknowledged is left in `in_flight`.
    async fn publish(
        &mut self,
        tx: &mut Transaction<'_, Postgres>,
        in_flight: &mut VecDeque<(Vec<i64>, Vec<DeliveryFuture>)>,
    ) -> Result<usize, RelayError> {
        let mut queued = 0usize;
        let mut after = 0i64; // identity values start at 1
        let mut more = true;
        let mut published = 0usize;
        loop {
            while more && in_flight.len() < WINDOW && queued < ROUND_LIMIT {
                let rows: Vec<OutboxRow> = sqlx::query_as(
                    "SELECT id, key, payload, headers FROM outbox
                      WHERE topic = $1 AND id > $2 ORDER BY id LIMIT $3",
                )
                .bind(&self.topic)
                .bind(after)
                .bind(self.batch)
                .fetch_all(&mut **tx)
                .await?;
                more = rows.len() as i64 == self.batch;
                let Some(last) = rows.last() else { break };
                after = last.0;
                // Cached after the first round: fails, if at all, before anything is sent.
                let n = self.partitions().await?;
                // From here until the commit, rows may be on the broker and still in the
                // outbox: any failure (a publish, a DELETE, the commit: Postgres can crash
                // between them) leaves the next round to reconcile first, or it would publish
                // them a second time.
                self.reconciled = false;
                queued += rows.len();
                let ids = rows.iter().map(|r| r.0).collect();
                let mut deliveries = Vec::with_capacity(rows.len());
                let enqueued = self.enqueue(&rows, n, &mut deliveries);
                in_flight.push_back((ids, deliveries));
                enqueued.map_err(|error| self.publish_error(error))?;
            }
            let Some((ids, deliveries)) = in_flight.pop_front() else {
                return Ok(published);
            };
            for delivery in join_all(deliveries).await {
                match delivery {
                    Ok(Ok(_)) => {}
                    Ok(Err((error, _))) => return Err(self.publish_error(error)),
                    Err(_canceled) => return Err(self.publish_error(KafkaError::Canceled)),
                }
            }
            sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
                .bind(&ids)
                .execute(&mut **tx)
                .await?;
            published += ids.len();
        }
    }

    fn publish_error(&self, error: KafkaError) -> RelayError {
        RelayError::Publish {
            topic: self.topic.clone(),
            error,
        }
    }

    /// Hands `rows` to the producer, each to its partition and stamped with its outbox id
    /// (the producer batches them and keeps each partition in order), adding their
    /// acknowledgements to `deliveries` (also those enqueued before a failure).
    fn enqueue(
        &self,
        rows: &[OutboxRow],
        partitions: i32,
        deliveries: &mut Vec<DeliveryFuture>,
    ) -> Result<(), KafkaError> {
        for (id, key, payload, headers) in rows {
            let id_text = id.to_string();
            let mut owned = OwnedHeaders::new();
            for (k, v) in decode_headers(headers) {
                owned = owned.insert(Header {
                    key: &k,
                    value: Some(&v),
                });
            }
            owned = owned.insert(Header {
                key: OUTBOX_ID_HEADER,
                value: Some(&id_text),
            });
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic)
                .payload(payload.as_slice())
                .partition(partition_for(key.as_deref(), *id, partitions))
                .headers(owned);
            if let Some(key) = key {
                record = record.key(key.as_slice());
            }
            // The window keeps far fewer messages queued than the producer's queue holds
            // (100,000), so a full queue means the broker is not taking them: a failure.
            deliveries.push(self.producer.send_result(record).map_err(|(e, _)| e)?);
        }
        Ok(())
    }

    /// Replaces the producer after a failed round. Every delivery of the round has been
    /// resolved, so the old producer holds nothing still to send, and the next round reconciles
    /// before it publishes: a fresh producer (new producer id, sequences from zero) is as safe
    /// as the old one. It is needed because librdkafka's idempotent producer bumps its epoch
    /// by itself after a message timed out (KIP-360), and the local broker (Tansu 0.6.0)
    /// panics in its storage task on a produce with an epoch it never issued, after which it
    /// fails every request until restarted: a broker outage longer than the message timeout
    /// would otherwise leave the restarted broker unusable (RELIABILITY.md, Faults).
    fn renew_producer(&mut self, cause: &rdkafka::error::KafkaError) {
        match crate::kafka::producer(&self.kafka) {
            Ok(producer) => {
                // Dropping the old one purges its (empty) queue without waiting.
                self.producer = producer;
                metrics::counter!("newsflow_outbox_producer_renewals_total").increment(1);
                tracing::info!(topic = self.topic, error = %cause, "publishing failed; the outbox relay continues with a new producer");
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot create a new producer; keeping the old one");
            }
        }
    }

    /// Runs until shutdown, then drains what is left for up to [`SHUTDOWN_DRAIN`] and flushes
    /// the producer. Transient failures are retried with backoff; the relay never
    /// gives up on a message.
    pub async fn run(mut self, shutdown: Shutdown) {
        let mut backoff = Duration::from_millis(100);
        let mut stopping: Option<std::time::Instant> = None;
        loop {
            // A round still running SHUTDOWN_DRAIN after shutdown was asked for (a slow broker,
            // a long reconciliation) is abandoned: its transaction rolls back, its rows stay,
            // and whichever lane publishes the topic next reconciles what it had sent.
            let drain_over = async {
                shutdown.wait().await;
                tokio::time::sleep(SHUTDOWN_DRAIN).await;
            };
            let outcome = tokio::select! {
                outcome = self.relay_once() => outcome,
                () = drain_over => {
                    tracing::info!(topic = self.topic, "outbox relay round abandoned at shutdown");
                    break;
                }
            };
            match outcome {
                Ok(n) if n > 0 => {
                    backoff = Duration::from_millis(100);
                    if shutdown.is_triggered() {
                        // Drain a little of what this replica committed last, then stop: what
                        // is left waits, durable, for the other replicas' relays or the next
                        // start. Draining a whole backlog would outlast the grace period.
                        let since = *stopping.get_or_insert_with(std::time::Instant::now);
                        if since.elapsed() > SHUTDOWN_DRAIN {
                            break;
                        }
                    }
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
                    tracing::warn!(topic = self.topic, error = %e, retry_in_ms = backoff.as_millis() as u64, "outbox relay failed");
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
        // Whatever the producer still holds belongs to a round that did not commit: its rows
        // are still in the outbox, so a short flush is enough.
        let producer = self.producer.clone();
        let _ = tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(2))).await;
        tracing::info!(topic = self.topic, "outbox relay stopped");
    }
}

/// The highest outbox id at the end of each partition of `topic` that has one (blocking).
fn last_outbox_ids(
    kafka: &KafkaArgs,
    topic: &str,
    partitions: i32,
) -> Result<HashMap<i32, i64>, String> {
    let consumer: BaseConsumer = crate::kafka::client_config(
        kafka,
        &[
            ("group.id", "newsflow-outbox-reconcile"),
            ("enable.auto.commit", "false"),
        ],
    )
    .create()
    .map_err(|e| e.to_string())?;
    let mut last = HashMap::new();
    for partition in 0..partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        if high <= low {
            continue;
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(
            topic,
            partition,
            Offset::Offset((high - RECONCILE_WINDOW).max(low)),
        )
        .map_err(|e| e.to_string())?;
        consumer.assign(&tpl).map_err(|e| e.to_string())?;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if std::time::Instant::now() > deadline {
                return Err(format!("timed out reading the end of {topic}/{partition}"));
            }
            let Some(message) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let message = message.map_err(|e| e.to_string())?;
            let id = message.headers().and_then(|h| {
                h.iter()
                    .find(|h| h.key == OUTBOX_ID_HEADER)
                    .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse::<i64>().ok())
            });
            if let Some(id) = id {
                let entry = last.entry(partition).or_insert(id);
                *entry = (*entry).max(id);
            }
            if message.offset() >= high - 1 {
                break;
            }
        }
    }
    Ok(last)
}

/// Most messages [`pending`] counts: counting a backlog row by row costs a scan of it, every
/// few seconds in every replica (17% of Postgres's time in one profile of a 393,000-row
/// backlog), and above a few times the not-ready threshold the exact figure changes nothing.
pub const PENDING_COUNT_CAP: i64 = 250_000;

/// Messages waiting in the outbox for `topics`, counted up to [`PENDING_COUNT_CAP`] (for the
/// readiness check and the gauge).
pub async fn pending(pool: &PgPool, topics: &[String]) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM outbox WHERE topic = ANY($1) LIMIT $2) AS pending",
    )
    .bind(topics)
    .bind(PENDING_COUNT_CAP)
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
