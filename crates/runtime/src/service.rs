//! The process frame of every newsflow service: runtime, logging, signals, the bounded drain,
//! exit codes, and the wiring of a consuming stage (admin server, Postgres, consumer, outbox
//! relay, monitor). A service supplies its configuration and its [`Handler`].

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::Notify;

use crate::admin::{self, Health};
use crate::config::{ConsumeArgs, DbArgs, KafkaArgs, OpsArgs, redact_url};
use crate::outbox::Relay;
use crate::stage::{self, Handler, StageOptions};
use crate::{Shutdown, db, kafka, monitor, telemetry};

/// Runs `run` on a multi-threaded runtime with logging and signal handling. Once shutdown is
/// asked for, `run` has `ops.shutdown_grace` to return; exit code 0 on a clean stop, 1 on
/// error, 2 when the drain overran the grace period.
pub fn main<F, Fut>(ops: &OpsArgs, run: F) -> ExitCode
where
    F: FnOnce(Shutdown) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    telemetry::init(&ops.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let shutdown = Shutdown::new();
        shutdown.listen_for_signals();
        let work = run(shutdown.clone());
        tokio::pin!(work);
        let grace = ops.shutdown_grace;
        let overrun = async {
            shutdown.wait().await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            result = &mut work => match result {
                Ok(()) => {
                    tracing::info!("stopped cleanly");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "stopped with an error");
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            },
            () = overrun => {
                tracing::error!(grace_ms = grace.as_millis() as u64, "drain took longer than the grace period; exiting");
                ExitCode::from(2)
            }
        }
    })
}

/// `migrate`: applies the migrations and exits.
pub fn migrate_main(db_args: &DbArgs) -> ExitCode {
    telemetry::init("pretty");
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let result = async {
            db_args.validate().map_err(anyhow::Error::msg)?;
            let pool = db::connect(db_args, Duration::from_secs(60)).await?;
            db::migrate(&pool).await?;
            anyhow::Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                println!(
                    "migrations applied to {}",
                    redact_url(&db_args.database_url)
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    })
}

/// What a consuming stage needs besides its handler.
pub struct StageConfig<'a> {
    pub service: &'static str,
    pub kafka: &'a KafkaArgs,
    pub db: &'a DbArgs,
    pub ops: &'a OpsArgs,
    pub consume: &'a ConsumeArgs,
    pub input_topics: Vec<String>,
    /// Topics this stage writes to through the outbox; its relay runs one lane for each.
    pub output_topics: Vec<String>,
    /// Apply migrations at start-up instead of requiring them.
    pub migrate: bool,
}

impl StageConfig<'_> {
    fn group(&self) -> String {
        self.consume
            .group
            .clone()
            .unwrap_or_else(|| format!("newsflow-{}", self.service))
    }
}

/// Runs a consuming stage until shutdown: admin server, Postgres (schema checked), the
/// consumer resuming from stored offsets, the outbox relay and the monitor. When the stage
/// stops — shutdown or a fatal error — everything else is stopped too, the relay drains and
/// the producer is flushed before this returns.
pub async fn run_stage<H: Handler>(
    config: StageConfig<'_>,
    handler: H,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let health = Health::new();
    let (_, admin_task) =
        admin::serve(config.ops.admin_addr, Arc::clone(&health), shutdown.clone())
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {} (--admin-addr / NEWSFLOW_ADMIN_ADDR)",
                    config.ops.admin_addr
                )
            })?;

    let pool = db::connect(config.db, Duration::from_secs(60)).await?;
    if config.migrate {
        db::migrate(&pool).await.context("applying migrations")?;
    }
    db::check_schema(&pool).await?;
    health.set("database", Ok(()));

    let group = config.group();
    let topics: Vec<&str> = config.input_topics.iter().map(String::as_str).collect();
    let consumer = Arc::new(
        kafka::consumer(
            config.kafka,
            &group,
            config.consume.instance_id.as_deref(),
            &topics,
            pool.clone(),
        )
        .context("creating the Kafka consumer")?,
    );
    // One relay lane per output topic, each with its own idempotent producer (a lane renews
    // its producer after a failed round without disturbing the others).
    let mut output_topics = config.output_topics.clone();
    output_topics.sort();
    output_topics.dedup();
    let mut wakers = Vec::new();
    let mut relay_tasks = Vec::new();
    if config.consume.relay {
        for topic in &output_topics {
            let producer = kafka::producer(config.kafka).context("creating the Kafka producer")?;
            let notify = Arc::new(Notify::new());
            wakers.push(Arc::clone(&notify));
            relay_tasks.push(tokio::spawn(
                Relay::new(
                    pool.clone(),
                    producer,
                    config.kafka.clone(),
                    topic.clone(),
                    notify,
                )
                .run(shutdown.clone()),
            ));
        }
    }
    let monitor_task = tokio::spawn(monitor::run(
        pool.clone(),
        Arc::clone(&consumer),
        config.kafka.clone(),
        Arc::clone(&health),
        config.service,
        monitor::OutboxWatch {
            topics: output_topics,
            not_ready: config.consume.outbox_not_ready,
        },
        shutdown.clone(),
    ));
    tracing::info!(service = config.service, group, topics = ?topics, "stage started");

    let options = StageOptions {
        service: config.service,
        group,
        batch_size: config.consume.batch_size as usize,
        linger: config.consume.batch_linger,
    };
    let result = stage::run(
        Arc::new(handler),
        consumer,
        pool.clone(),
        health,
        wakers,
        options,
        shutdown.clone(),
    )
    .await;
    // Whatever ended the stage ends the process: the relay drains what was committed.
    shutdown.trigger();
    for task in relay_tasks {
        let _ = task.await;
    }
    let _ = monitor_task.await;
    let _ = admin_task.await;
    pool.close().await;
    result.context("stage failed")
}
