//! Kafka clients configured the newsflow way: consumers that resume from the offsets stored
//! in Postgres, idempotent producers, and explicit topic creation.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureProducer;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};
use sqlx::PgPool;

use crate::config::KafkaArgs;
use crate::offsets;

/// Base client configuration: brokers plus the operator's pass-through properties (TLS, SASL…),
/// which win over our defaults.
pub fn client_config(args: &KafkaArgs, defaults: &[(&str, &str)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", args.brokers.trim());
    for (k, v) in defaults {
        config.set(*k, *v);
    }
    for (k, v) in &args.properties {
        config.set(k, v);
    }
    config
}

/// An idempotent producer (`enable.idempotence=true`, `acks=all`): retries never duplicate
/// or reorder a partition's messages.
///
/// `linger.ms` is 25, not 5: librdkafka's broker thread sets its next wakeup from the oldest
/// queued message's linger deadline even while the partition is at the idempotent producer's
/// in-flight limit (5 requests), so with a short linger and a slow broker it wakes up again at
/// once until an acknowledgement arrives. A profile of the 200,000-article bench found that
/// busy loop taking most of the services' CPU (`rd_kafka_toppar_producer_serve`, `poll`,
/// `clock_gettime`); a longer linger makes fewer, larger requests. The outbox relay waits for
/// a round's acknowledgements anyway, so the added latency is small next to the broker's.
pub fn producer(args: &KafkaArgs) -> Result<FutureProducer, KafkaError> {
    client_config(
        args,
        &[
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("linger.ms", "25"),
            ("message.timeout.ms", "30000"),
            ("batch.num.messages", "1000"),
        ],
    )
    .create()
}

/// Consumer context that positions each newly assigned partition at the offset stored in
/// Postgres, so processing resumes exactly after the last committed transaction; Kafka's own
/// committed offsets are only a fallback and a progress hint for lag tooling.
pub struct StoredOffsets {
    pool: PgPool,
    group: String,
    handle: tokio::runtime::Handle,
}

impl ClientContext for StoredOffsets {}

impl ConsumerContext for StoredOffsets {
    fn rebalance(
        &self,
        base_consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let wanted: Vec<(String, i32)> = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect();
                // The callback runs inside the consumer's poll, on a runtime worker. Blocking it
                // for one query is what we want: no message of these partitions may be fetched
                // before we know where to start. (block_in_place needs the multi-thread runtime.)
                let stored = tokio::task::block_in_place(|| {
                    self.handle
                        .block_on(offsets::load(&self.pool, &self.group, &wanted))
                });
                match stored {
                    Ok(stored) => {
                        for ((topic, partition), next) in &stored {
                            if let Err(e) =
                                tpl.set_partition_offset(topic, *partition, Offset::Offset(*next))
                            {
                                tracing::warn!(error = %e, topic, partition, "cannot seek to stored offset");
                            }
                        }
                        tracing::info!(partitions = ?wanted, stored = stored.len(), "partitions assigned");
                    }
                    // Falling back to Kafka's committed offsets is safe: they never run ahead of
                    // Postgres, and the transaction re-checks the stored offset anyway.
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read stored offsets; using Kafka's committed offsets");
                    }
                }
                if let Err(e) = base_consumer.assign(tpl) {
                    tracing::error!(error = %e, "assign failed");
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                tracing::info!(partitions = tpl.count(), "partitions revoked");
                if let Err(e) = base_consumer.unassign() {
                    tracing::error!(error = %e, "unassign failed");
                }
            }
            other => {
                tracing::error!(error = ?other, "rebalance error");
                let _ = base_consumer.unassign();
            }
        }
    }
}

/// A group consumer for `topics` that resumes from the offsets stored in Postgres.
pub fn consumer(
    args: &KafkaArgs,
    group: &str,
    instance_id: Option<&str>,
    topics: &[&str],
    pool: PgPool,
) -> Result<StreamConsumer<StoredOffsets>, KafkaError> {
    let context = StoredOffsets {
        pool,
        group: group.to_owned(),
        handle: tokio::runtime::Handle::current(),
    };
    // A static member's restart must fit inside its session, or the group rebalances anyway
    // (what static membership is meant to avoid); KIP-345 recommends a long session for them.
    // On the local broker (Tansu 0.6.0) a member whose session ran out is worse than a
    // rebalance: its session is renewed only by a successful Heartbeat (never by JoinGroup or
    // SyncGroup, which the broker holds 3 s each for a static member) and survives a broker
    // restart with its old deadline, and an evicted group leader can stay the group's leader,
    // leaving nobody to assign partitions (RELIABILITY.md, Faults). 60 s covers a restart, a
    // rebalance round and a 30 s broker outage with librdkafka's reconnect backoff.
    let session_timeout = if instance_id.is_some() {
        "60000"
    } else {
        "10000"
    };
    let mut config = client_config(
        args,
        &[
            ("group.id", group),
            ("auto.offset.reset", "earliest"),
            // Offsets are stored by us after the Postgres commit, then auto-committed to Kafka
            // as a hint for lag tooling, every 5 s (librdkafka's default): commits share the
            // group coordinator's connection with the heartbeats, and on the loaded local broker
            // a heartbeat queued behind slow commits (one a second) let sessions time out in
            // the 200,000-article bench.
            ("enable.auto.offset.store", "false"),
            ("enable.auto.commit", "true"),
            ("auto.commit.interval.ms", "5000"),
            ("partition.assignment.strategy", "range"),
            // Dynamic members: short enough that the local broker completes rebalances promptly
            // after a member died (with 45 s it left new members idle for the rest of a test).
            // Static members: 60 s (above). Either can be set through --kafka-property.
            ("session.timeout.ms", session_timeout),
            ("heartbeat.interval.ms", "2000"),
            ("max.poll.interval.ms", "300000"),
            // A subscribed topic that does not exist yet (created after the service started)
            // is only noticed at the next metadata refresh: every 10 s instead of librdkafka's
            // 5 minutes, so a stage resumes promptly once its topic appears.
            ("topic.metadata.refresh.interval.ms", "10000"),
            // The prefetch queue: librdkafka's default keeps up to 64 MB (and 100,000
            // messages) fetched ahead, which a stage taking 500 messages per batch never
            // needs. It filled as a backlog grew, so a lagging stage's memory rose over the
            // whole run (extract, the 200,000-article bench: ~1 MB per 1,000 articles);
            // 8 MB still holds several batches of ~4 KB articles.
            ("queued.max.messages.kbytes", "8192"),
            ("queued.min.messages", "2000"),
        ],
    );
    if let Some(id) = instance_id {
        config.set("group.instance.id", id);
    }
    let consumer: StreamConsumer<StoredOffsets> = config.create_with_context(context)?;
    consumer.subscribe(topics)?;
    Ok(consumer)
}

/// Creates the topics that do not exist yet (the broker may not auto-create them).
pub async fn ensure_topics(args: &KafkaArgs, topics: &[(&str, i32)]) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = client_config(args, &[]).create()?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, partitions)| NewTopic::new(name, *partitions, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&new, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaError::AdminOp(code)).inspect_err(|_| {
                    tracing::error!(topic, ?code, "cannot create topic");
                });
            }
        }
    }
    Ok(())
}

/// Partition counts of the given topics, from broker metadata.
pub fn partition_counts(
    args: &KafkaArgs,
    topics: &[&str],
) -> Result<HashMap<String, usize>, KafkaError> {
    let consumer: BaseConsumer = client_config(args, &[]).create()?;
    let mut counts = HashMap::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
        for t in metadata.topics() {
            counts.insert(t.name().to_owned(), t.partitions().len());
        }
    }
    Ok(counts)
}
