//! The dedup stage: `news.articles.raw` → Postgres (`articles`, duplicate links, LSH bands,
//! rejected messages) + `news.articles` (first-seen originals) + `news.articles.dlq`.
//!
//! Shape shared by every service: `config` (flags and validation), `pipeline` (the stage
//! handler: CPU work, then the transactional write), `store` (SQL), `check` (offline mode).

pub mod check;
pub mod config;
pub mod pipeline;
pub mod store;

use anyhow::anyhow;
use newsflow_runtime::Shutdown;
use newsflow_runtime::service::{StageConfig, run_stage};

use crate::config::RunArgs;
use crate::pipeline::{Dedup, Topics};

/// Runs the service until `shutdown` (SIGTERM) or a fatal error.
pub async fn run(args: RunArgs, shutdown: Shutdown) -> anyhow::Result<()> {
    let (params, limits) = args
        .validate()
        .map_err(|e| anyhow!("invalid configuration: {e}"))?;
    let handler = Dedup::new(
        params,
        limits,
        Topics {
            output: args.output_topic.clone(),
            duplicates: args.duplicates_topic.clone(),
            dlq: args.dlq_topic.clone(),
        },
    );
    let config = StageConfig {
        service: "dedup",
        kafka: &args.kafka,
        db: &args.db,
        ops: &args.ops,
        consume: &args.consume,
        input_topics: vec![args.input_topic.clone()],
        output_topics: vec![
            args.output_topic.clone(),
            args.duplicates_topic.clone(),
            args.dlq_topic.clone(),
        ],
        migrate: args.migrate,
    };
    run_stage(config, handler, shutdown).await
}
