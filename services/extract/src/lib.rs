//! The extract stage: `news.articles` (+ `news.articles.duplicates`) → Postgres (`events`,
//! `event_mentions`, article extraction state) + `news.events`.
//!
//! Same shape as every service: `config`, `pipeline` (the stage handler: coding off the async
//! runtime, then the transactional merge), `store` (SQL), `code` (offline mode).

pub mod code;
pub mod config;
pub mod pipeline;
pub mod store;

use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use newsflow_core::coding::Coder;
use newsflow_runtime::Shutdown;
use newsflow_runtime::service::{StageConfig, run_stage};

use crate::config::RunArgs;
use crate::pipeline::{Extract, Topics};

/// Loads the coder's dictionaries: compiled in, or from a directory.
pub fn load_coder(dir: Option<&std::path::Path>) -> anyhow::Result<Coder> {
    match dir {
        Some(dir) => Coder::from_dir(dir).with_context(|| {
            format!(
                "loading dictionaries from {} (--dictionaries / NEWSFLOW_DICTIONARIES)",
                dir.display()
            )
        }),
        None => Coder::embedded().context("loading the compiled-in dictionaries"),
    }
}

/// Runs the service until `shutdown` (SIGTERM) or a fatal error.
pub async fn run(args: RunArgs, shutdown: Shutdown) -> anyhow::Result<()> {
    args.validate()
        .map_err(|e| anyhow!("invalid configuration: {e}"))?;
    let coder = Arc::new(load_coder(args.dictionaries.as_deref())?);
    tracing::info!(coder_version = %coder.dictionary_version(), "dictionaries loaded");
    let handler = Extract::new(
        coder,
        Topics {
            articles: args.articles_topic.clone(),
            duplicates: args.duplicates_topic.clone(),
            events: args.events_topic.clone(),
            dlq: args.dlq_topic.clone(),
        },
    );
    let config = StageConfig {
        service: "extract",
        kafka: &args.kafka,
        db: &args.db,
        ops: &args.ops,
        consume: &args.consume,
        input_topics: vec![args.articles_topic.clone(), args.duplicates_topic.clone()],
        output_topics: vec![args.events_topic.clone(), args.dlq_topic.clone()],
        migrate: args.migrate,
    };
    run_stage(config, handler, shutdown).await
}
