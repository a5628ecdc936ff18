//! Periodic checks that feed readiness and the gauges: Postgres reachable, broker reachable,
//! consumer lag per partition, outbox backlog.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::topic_partition_list::Offset;
use sqlx::PgPool;

use crate::Shutdown;
use crate::admin::Health;
use crate::config::KafkaArgs;
use crate::outbox;

/// The outbox rows a service watches: those for its own output topics.
pub struct OutboxWatch {
    pub topics: Vec<String>,
    /// The backlog above which the service reports not-ready (an output topic unavailable or
    /// too slow).
    pub not_ready: i64,
}

/// Runs the checks every few seconds until shutdown.
pub async fn run<C: ConsumerContext + 'static>(
    pool: PgPool,
    consumer: Arc<StreamConsumer<C>>,
    kafka: KafkaArgs,
    health: Arc<Health>,
    service: &'static str,
    watch: OutboxWatch,
    shutdown: Shutdown,
) {
    // Watermarks are asked on a connection of their own: a ListOffsets request queued behind
    // the consumer's long-polling Fetch on the same connection times out (and the local broker
    // has been seen to stall when the two interleave).
    let probe: Option<Arc<BaseConsumer>> = match crate::kafka::client_config(
        &kafka,
        &[
            ("group.id", "newsflow-monitor"),
            ("enable.auto.commit", "false"),
        ],
    )
    .create()
    {
        Ok(c) => Some(Arc::new(c)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot create the lag probe; lag will not be reported");
            None
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    // Partitions this replica reported lag for: one it no longer holds is set to 0, so a
    // revoked partition's last value does not linger as if this replica were still behind.
    let mut reported: std::collections::HashSet<(String, i32)> = Default::default();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.wait() => break,
        }
        match outbox::pending(&pool, &watch.topics).await {
            Ok(n) => {
                metrics::gauge!("newsflow_outbox_pending", "service" => service).set(n as f64);
                health.set(
                    "outbox",
                    if n > watch.not_ready {
                        Err(format!("{n} messages waiting to be published"))
                    } else {
                        Ok(())
                    },
                );
                health.set("database", Ok(()));
            }
            Err(e) => health.set("database", Err(e.to_string())),
        }
        let Some(probe) = probe.clone() else { continue };
        let c = Arc::clone(&consumer);
        let lag = tokio::task::spawn_blocking(move || partition_lag(&*c, &probe)).await;
        match lag {
            Ok(Ok(lags)) => {
                let mut total = 0;
                let held: std::collections::HashSet<(String, i32)> =
                    lags.iter().map(|(t, p, _)| (t.clone(), *p)).collect();
                for (topic, partition) in reported.difference(&held) {
                    metrics::gauge!("newsflow_consumer_lag", "service" => service,
                                    "topic" => topic.clone(), "partition" => partition.to_string())
                    .set(0.0);
                }
                for (topic, partition, lag) in lags {
                    total += lag;
                    metrics::gauge!("newsflow_consumer_lag", "service" => service, "topic" => topic,
                                    "partition" => partition.to_string())
                        .set(lag as f64);
                }
                metrics::gauge!("newsflow_consumer_lag_total", "service" => service)
                    .set(total as f64);
                metrics::gauge!("newsflow_assigned_partitions", "service" => service)
                    .set(held.len() as f64);
                reported.extend(held);
                health.set("kafka", Ok(()));
            }
            Ok(Err(e)) => health.set("kafka", Err(e)),
            Err(e) => health.set("kafka", Err(e.to_string())),
        }
    }
}

/// Messages behind the high watermark for every assigned partition.
fn partition_lag<C: ConsumerContext>(
    consumer: &StreamConsumer<C>,
    probe: &BaseConsumer,
) -> Result<Vec<(String, i32, i64)>, String> {
    let positions = consumer.position().map_err(|e| e.to_string())?;
    if positions.count() == 0 {
        // No partition assigned (an idle replica, or one waiting for a rebalance): there is
        // no lag to measure, but readiness must still say whether the broker answers, or a
        // replica without partitions reports ready through a whole broker outage.
        let subscription = consumer.subscription().map_err(|e| e.to_string())?;
        let topic = subscription
            .elements()
            .first()
            .map(|e| e.topic().to_owned());
        probe
            .fetch_metadata(topic.as_deref(), Duration::from_secs(3))
            .map_err(|e| format!("broker unreachable: {e}"))?;
        return Ok(Vec::new());
    }
    let mut lags = Vec::new();
    for elem in positions.elements() {
        let (low, high) = probe
            .fetch_watermarks(elem.topic(), elem.partition(), Duration::from_secs(3))
            .map_err(|e| format!("broker unreachable: {e}"))?;
        let position = match elem.offset() {
            Offset::Offset(o) => o,
            _ => low,
        };
        lags.push((
            elem.topic().to_owned(),
            elem.partition(),
            (high - position).max(0),
        ));
    }
    Ok(lags)
}
