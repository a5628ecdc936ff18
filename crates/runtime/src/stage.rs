//! The consume → transform → write loop every stage runs, with its delivery guarantees.
//!
//! Per batch: CPU work first (`prepare`, off the async runtime, while the previous batch is
//! still being written), then one Postgres transaction
//! that locks the partitions' stored offsets, drops messages an earlier transaction already
//! committed (a redelivery after a crash or a zombie consumer), writes the rows and outbox
//! messages (`write`), and stores the next offsets. Only after the commit are Kafka's offset
//! hints updated and the relay woken. Transient failures retry the same batch with backoff
//! (the partition waits, nothing is skipped); a permanent failure is isolated by retrying
//! message by message, and the one message that still fails is handed to `write_failure`
//! (normally: the DLQ) so a single poison message never blocks a partition.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{ConsumerContext, StreamConsumer};
use rdkafka::message::OwnedMessage;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::Notify;

use crate::admin::Health;
use crate::consumer::{next_batch, next_offsets, store_hints};
use crate::db::is_transient;
use crate::{Shutdown, offsets};

/// Where a message came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// What a stage does with its messages.
pub trait Handler: Send + Sync + 'static {
    /// One prepared message.
    type Item: Send + Sync + 'static;

    /// CPU-bound work on a batch (parsing, sketching, coding): no I/O. Runs on a blocking
    /// thread. Returns one item per message, in order.
    fn prepare(&self, batch: Vec<OwnedMessage>) -> Vec<(Position, Self::Item)>;

    /// Writes the effect of `items` (already filtered to unprocessed ones, in order) inside
    /// the stage's transaction. Returns counts by outcome for metrics and logs.
    fn write<'a>(
        &'a self,
        tx: &'a mut Transaction<'static, Postgres>,
        items: &'a [&'a (Position, Self::Item)],
    ) -> impl Future<Output = Result<HashMap<&'static str, u64>, sqlx::Error>> + Send + 'a;

    /// Records a message whose write failed permanently (e.g. sends it to the DLQ).
    fn write_failure<'a>(
        &'a self,
        tx: &'a mut Transaction<'static, Postgres>,
        item: &'a (Position, Self::Item),
        error: &'a str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'a;
}

/// How the loop consumes.
#[derive(Debug, Clone)]
pub struct StageOptions {
    /// Service name for metrics labels.
    pub service: &'static str,
    pub group: String,
    pub batch_size: usize,
    pub linger: Duration,
}

/// Errors that end the stage.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("Kafka consumer failed: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("preparing a batch panicked: {0}")]
    Prepare(String),
}

enum Attempt {
    Done(HashMap<&'static str, u64>),
    Transient(sqlx::Error),
    Permanent(sqlx::Error),
}

/// Runs the stage until shutdown. Returns an error only for failures that retrying cannot
/// fix (the caller then shuts the process down and the orchestrator restarts it).
pub async fn run<H: Handler, C: ConsumerContext + 'static>(
    handler: Arc<H>,
    consumer: Arc<StreamConsumer<C>>,
    pool: PgPool,
    health: Arc<Health>,
    relay_wakers: Vec<Arc<Notify>>,
    options: StageOptions,
    shutdown: Shutdown,
) -> Result<(), StageError> {
    let service = options.service;
    health.set("consumer", Ok(()));
    let read_ahead = || {
        tokio::spawn(fetch_and_prepare(
            Arc::clone(&handler),
            Arc::clone(&consumer),
            options.clone(),
            shutdown.clone(),
        ))
    };
    let mut ahead = read_ahead();
    loop {
        let prepared = ahead
            .await
            .map_err(|e| StageError::Prepare(e.to_string()))??;
        let Some(Prepared {
            items,
            next,
            received,
        }) = prepared
        else {
            break; // shutdown
        };
        if shutdown.is_triggered() {
            break; // read before the shutdown: left for the partitions' next owner
        }
        // The next batch is read and prepared while this one is written: the CPU work and the
        // wait for messages overlap the transaction. It is written only after this batch
        // committed (or dropped unwritten at shutdown), so offsets still advance in order.
        ahead = read_ahead();
        let started = Instant::now();

        let mut backoff = Duration::from_millis(100);
        let counts = loop {
            let all: Vec<&(Position, H::Item)> = items.iter().collect();
            match attempt(&*handler, &pool, &options.group, &all, &next).await {
                Attempt::Done(counts) => break Some(counts),
                Attempt::Transient(e) => {
                    health.set("database", Err(e.to_string()));
                    metrics::counter!("newsflow_retries_total", "service" => service).increment(1);
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "batch failed, retrying");
                    if shutdown.is_triggered() {
                        // Nothing was committed; the next owner of these partitions redoes it.
                        break None;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = shutdown.wait() => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
                Attempt::Permanent(e) => {
                    tracing::error!(error = %e, "batch failed permanently; isolating the message that fails");
                    break isolate(
                        &*handler,
                        &pool,
                        &options.group,
                        &items,
                        &health,
                        &shutdown,
                        service,
                    )
                    .await;
                }
            }
        };
        let Some(counts) = counts else {
            ahead.abort();
            break;
        };
        health.set("database", Ok(()));
        store_hints(&consumer, &next);
        for waker in &relay_wakers {
            waker.notify_one();
        }

        let elapsed = started.elapsed();
        metrics::histogram!("newsflow_batch_seconds", "service" => service)
            .record(elapsed.as_secs_f64());
        metrics::counter!("newsflow_messages_consumed_total", "service" => service)
            .increment(received as u64);
        for (outcome, n) in &counts {
            metrics::counter!("newsflow_messages_total", "service" => service, "outcome" => *outcome)
                .increment(*n);
        }
        tracing::debug!(
            received,
            ?counts,
            ms = elapsed.as_millis() as u64,
            "batch committed"
        );
    }
    tracing::info!("stage stopped");
    Ok(())
}

/// A consumed batch, prepared: its items, the partitions' next offsets, and how many
/// messages it held.
struct Prepared<I> {
    items: Vec<(Position, I)>,
    next: HashMap<(String, i32), i64>,
    received: usize,
}

/// Waits for the next batch and prepares it on a blocking thread; `None` at shutdown.
async fn fetch_and_prepare<H: Handler, C: ConsumerContext + 'static>(
    handler: Arc<H>,
    consumer: Arc<StreamConsumer<C>>,
    options: StageOptions,
    shutdown: Shutdown,
) -> Result<Option<Prepared<H::Item>>, StageError> {
    let batch = next_batch(&consumer, options.batch_size, options.linger, &shutdown).await?;
    if batch.is_empty() {
        return Ok(None);
    }
    let next = next_offsets(&batch);
    let received = batch.len();
    let items = tokio::task::spawn_blocking(move || handler.prepare(batch))
        .await
        .map_err(|e| StageError::Prepare(e.to_string()))?;
    Ok(Some(Prepared {
        items,
        next,
        received,
    }))
}

/// One transaction over `items`. `next` is stored as the partitions' new offsets.
async fn attempt<H: Handler>(
    handler: &H,
    pool: &PgPool,
    group: &str,
    items: &[&(Position, H::Item)],
    next: &HashMap<(String, i32), i64>,
) -> Attempt {
    let result = async {
        let mut tx = pool.begin().await?;
        let partitions: Vec<(String, i32)> = next.keys().cloned().collect();
        let stored = offsets::lock(&mut tx, group, &partitions).await?;
        let fresh: Vec<&(Position, H::Item)> = items
            .iter()
            .copied()
            .filter(|(p, _)| {
                p.offset
                    >= stored
                        .get(&(p.topic.clone(), p.partition))
                        .copied()
                        .unwrap_or(0)
            })
            .collect();
        let skipped = (items.len() - fresh.len()) as u64;
        let mut counts = if fresh.is_empty() {
            HashMap::new()
        } else {
            handler.write(&mut tx, &fresh).await?
        };
        if skipped > 0 {
            tracing::info!(
                skipped,
                "skipped messages already committed by an earlier transaction"
            );
            counts.insert("already_processed", skipped);
        }
        offsets::store(&mut tx, group, next).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(counts)
    }
    .await;
    match result {
        Ok(counts) => Attempt::Done(counts),
        Err(e) if is_transient(&e) => Attempt::Transient(e),
        Err(e) => Attempt::Permanent(e),
    }
}

/// Redoes a batch message by message after a permanent failure; the message that fails on
/// its own goes to `write_failure`. Transient errors here are retried like in the main loop.
async fn isolate<H: Handler>(
    handler: &H,
    pool: &PgPool,
    group: &str,
    items: &[(Position, H::Item)],
    health: &Health,
    shutdown: &Shutdown,
    service: &'static str,
) -> Option<HashMap<&'static str, u64>> {
    let mut total: HashMap<&'static str, u64> = HashMap::new();
    for item in items {
        let next: HashMap<(String, i32), i64> =
            HashMap::from([((item.0.topic.clone(), item.0.partition), item.0.offset + 1)]);
        let mut backoff = Duration::from_millis(100);
        loop {
            match attempt(handler, pool, group, &[item], &next).await {
                Attempt::Done(counts) => {
                    for (k, v) in counts {
                        *total.entry(k).or_default() += v;
                    }
                    break;
                }
                Attempt::Transient(e) => {
                    health.set("database", Err(e.to_string()));
                    if shutdown.is_triggered() {
                        return None;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
                Attempt::Permanent(e) => {
                    let reason = e.to_string();
                    tracing::error!(error = %reason, topic = %item.0.topic, partition = item.0.partition,
                                    offset = item.0.offset, "message cannot be stored; sending it to the DLQ");
                    let failed = async {
                        let mut tx = pool.begin().await?;
                        let stored = offsets::lock(
                            &mut tx,
                            group,
                            &[(item.0.topic.clone(), item.0.partition)],
                        )
                        .await?;
                        if item.0.offset
                            >= stored
                                .get(&(item.0.topic.clone(), item.0.partition))
                                .copied()
                                .unwrap_or(0)
                        {
                            handler.write_failure(&mut tx, item, &reason).await?;
                        }
                        offsets::store(&mut tx, group, &next).await?;
                        tx.commit().await
                    }
                    .await;
                    match failed {
                        Ok(()) => {
                            metrics::counter!("newsflow_messages_total", "service" => service, "outcome" => "store_failed").increment(1);
                            break;
                        }
                        Err(e) => {
                            // Even the DLQ write fails: treat as transient and retry the message.
                            health.set("database", Err(e.to_string()));
                            if shutdown.is_triggered() {
                                return None;
                            }
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(Duration::from_secs(10));
                        }
                    }
                }
            }
        }
    }
    Some(total)
}
