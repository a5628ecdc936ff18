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

/// Runs the checks every few seconds until shutdown. `outbox_not_ready` is the outbox backlog
/// above which the service reports not-ready (output topic unavailable or too slow).
pub async fn run<C: ConsumerContext + 'static>(
    pool: PgPool,
    consumer: Arc<StreamConsumer<C>>,
    kafka: KafkaArgs,
    health: Arc<Health>,
    service: &'static str,
    outbox_not_ready: i64,
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
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.wait() => break,
        }
        match outbox::pending(&pool).await {
            Ok(n) => {
                metrics::gauge!("newsflow_outbox_pending", "service" => service).set(n as f64);
                health.set(
                    "outbox",
                    if n > outbox_not_ready {
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
                for (topic, partition, lag) in lags {
                    total += lag;
                    metrics::gauge!("newsflow_consumer_lag", "service" => service, "topic" => topic,
                                    "partition" => partition.to_string())
                        .set(lag as f64);
                }
                metrics::gauge!("newsflow_consumer_lag_total", "service" => service)
                    .set(total as f64);
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
