//! Batch consumption: gathers messages into batches for one Postgres transaction each, and
//! hands Kafka the offsets that Postgres has committed.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use rdkafka::Message;
use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedMessage;

use crate::Shutdown;

/// Whether the stage can carry on after a consumer error. librdkafka reports a broker outage
/// (transport failure, all brokers down), a subscribed topic that does not exist yet and
/// similar conditions as non-fatal errors, and recovers from them by itself: it reconnects,
/// refreshes metadata and resumes fetching. Ending the process on them would turn every broker
/// restart into a crash loop. Only a fatal error leaves the consumer unusable.
fn survivable(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::MessageConsumption(_) | KafkaError::PartitionEOF(_)
    )
}

/// The next message, skipping (and logging) survivable errors; `None` on shutdown.
async fn next_message<C: ConsumerContext + 'static>(
    consumer: &StreamConsumer<C>,
    until: impl Future<Output = ()>,
) -> Result<Option<OwnedMessage>, KafkaError> {
    tokio::pin!(until);
    loop {
        // recv() is cancellation safe, so losing the race loses no message.
        tokio::select! {
            m = consumer.recv() => match m {
                Ok(m) => return Ok(Some(m.detach())),
                Err(e) if survivable(&e) => {
                    tracing::warn!(error = %e, "Kafka consumer error; librdkafka retries by itself");
                }
                Err(e) => return Err(e),
            },
            () = &mut until => return Ok(None),
        }
    }
}

/// Waits for the first message (or shutdown), then collects more until `max` messages or
/// `linger` has passed since the first. Returns an empty batch only on shutdown.
pub async fn next_batch<C: ConsumerContext + 'static>(
    consumer: &StreamConsumer<C>,
    max: usize,
    linger: Duration,
    shutdown: &Shutdown,
) -> Result<Vec<OwnedMessage>, KafkaError> {
    let mut batch = Vec::with_capacity(max.min(4096));
    let Some(first) = next_message(consumer, shutdown.wait()).await? else {
        return Ok(batch);
    };
    batch.push(first);
    let deadline = tokio::time::Instant::now() + linger;
    while batch.len() < max {
        let until = async {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = shutdown.wait() => {}
            }
        };
        match next_message(consumer, until).await? {
            Some(m) => batch.push(m),
            None => break,
        }
    }
    Ok(batch)
}

/// A message's headers as owned (key, value) pairs; a header without value becomes empty.
pub fn owned_headers(message: &OwnedMessage) -> Vec<(String, Vec<u8>)> {
    use rdkafka::message::Headers;
    message
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                .collect()
        })
        .unwrap_or_default()
}

/// The offset after the last message of each partition in `batch`.
pub fn next_offsets(batch: &[OwnedMessage]) -> HashMap<(String, i32), i64> {
    let mut next: HashMap<(String, i32), i64> = HashMap::new();
    for m in batch {
        let entry = next
            .entry((m.topic().to_owned(), m.partition()))
            .or_insert(0);
        *entry = (*entry).max(m.offset() + 1);
    }
    next
}

/// After Postgres committed, tell Kafka how far we got. This is only a hint for lag tooling
/// (and a fallback start position); failures are logged, never fatal.
pub fn store_hints<C: ConsumerContext + 'static>(
    consumer: &StreamConsumer<C>,
    next: &HashMap<(String, i32), i64>,
) {
    for ((topic, partition), offset) in next {
        // store_offset takes the offset of the next message to read, like Kafka commits.
        if let Err(e) = consumer.store_offset(topic, *partition, *offset) {
            tracing::debug!(error = %e, topic, partition, "cannot store offset hint (partition revoked?)");
        }
    }
}
