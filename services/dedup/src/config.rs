//! Configuration of the dedup service and its subcommands, validated at start-up.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use newsflow_core::article::Limits;
use newsflow_core::dedup::DedupParams;
use newsflow_runtime::config::{ConsumeArgs, DbArgs, KafkaArgs, OpsArgs};

#[derive(Debug, Parser)]
#[command(
    name = "newsflow-dedup",
    version,
    about = "Deduplicates raw news articles into Postgres and news.articles"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Consume news.articles.raw and run the service.
    Run(Box<RunArgs>),
    /// Offline: run normalisation and duplicate detection over a JSONL file (`-` for stdin),
    /// printing one JSON decision per input article. No broker, no database.
    Check(CheckArgs),
    /// Apply the database migrations and exit.
    Migrate(DbArgs),
}

/// Duplicate-detection settings shared by `run` and `check`.
#[derive(Debug, Clone, Args)]
pub struct DedupArgs {
    /// Jaccard similarity of word shingles at or above which an article is a near-duplicate.
    #[arg(
        long = "near-duplicate-threshold",
        env = "NEWSFLOW_NEAR_DUPLICATE_THRESHOLD"
    )]
    pub near_duplicate_threshold: Option<f64>,

    /// Share of the shorter article's shingles found in the longer at or above which it is a truncated copy.
    #[arg(long = "containment-threshold", env = "NEWSFLOW_CONTAINMENT_THRESHOLD")]
    pub containment_threshold: Option<f64>,

    /// Largest accepted message, in bytes; larger ones go to the DLQ.
    #[arg(long = "max-message-bytes", env = "NEWSFLOW_MAX_MESSAGE_BYTES")]
    pub max_message_bytes: Option<usize>,
}

impl DedupArgs {
    /// The validated parameters; the error names the setting.
    pub fn params(&self) -> Result<(DedupParams, Limits), String> {
        let mut params = DedupParams::default();
        if let Some(t) = self.near_duplicate_threshold {
            params.near_duplicate_threshold = t;
        }
        if let Some(t) = self.containment_threshold {
            params.containment_threshold = t;
        }
        params.validate().map_err(|e| {
            format!("invalid --near-duplicate-threshold / --containment-threshold (NEWSFLOW_NEAR_DUPLICATE_THRESHOLD / NEWSFLOW_CONTAINMENT_THRESHOLD): {e}")
        })?;
        let mut limits = Limits::default();
        if let Some(max) = self.max_message_bytes {
            if max < 1024 {
                return Err(format!(
                    "--max-message-bytes / NEWSFLOW_MAX_MESSAGE_BYTES must be at least 1024, got {max}"
                ));
            }
            limits.max_message_bytes = max;
        }
        Ok((params, limits))
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// JSONL file of articles, or `-` for standard input.
    pub file: PathBuf,
    #[command(flatten)]
    pub dedup: DedupArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
    #[command(flatten)]
    pub consume: ConsumeArgs,
    #[command(flatten)]
    pub dedup: DedupArgs,

    /// Topic of raw scraper messages.
    #[arg(
        long = "input-topic",
        env = "NEWSFLOW_INPUT_TOPIC",
        default_value = "news.articles.raw"
    )]
    pub input_topic: String,

    /// Topic that receives first-seen (original) articles.
    #[arg(
        long = "output-topic",
        env = "NEWSFLOW_OUTPUT_TOPIC",
        default_value = "news.articles"
    )]
    pub output_topic: String,

    /// Topic that receives a notice for every copy linked to an original (keyed by the original).
    #[arg(long = "duplicates-topic", env = "NEWSFLOW_DUPLICATES_TOPIC", default_value = "news.articles.duplicates")]
    pub duplicates_topic: String,

    /// Dead-letter topic for messages that cannot become articles.
    #[arg(
        long = "dlq-topic",
        env = "NEWSFLOW_DLQ_TOPIC",
        default_value = "news.articles.dlq"
    )]
    pub dlq_topic: String,

    /// Apply pending migrations at start-up (otherwise a schema behind this binary stops it).
    #[arg(long = "migrate", env = "NEWSFLOW_MIGRATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub migrate: bool,
}

impl RunArgs {
    /// Everything clap cannot check by itself, with messages that name the setting.
    pub fn validate(&self) -> Result<(DedupParams, Limits), String> {
        self.kafka.validate()?;
        self.db.validate()?;
        for (name, topic) in [
            ("--input-topic / NEWSFLOW_INPUT_TOPIC", &self.input_topic),
            ("--output-topic / NEWSFLOW_OUTPUT_TOPIC", &self.output_topic),
            ("--dlq-topic / NEWSFLOW_DLQ_TOPIC", &self.dlq_topic),
            ("--duplicates-topic / NEWSFLOW_DUPLICATES_TOPIC", &self.duplicates_topic),
        ] {
            newsflow_runtime::config::validate_topic(name, topic)?;
        }
        if [&self.output_topic, &self.dlq_topic, &self.duplicates_topic].contains(&&self.input_topic) {
            return Err(
                "--input-topic must differ from --output-topic, --duplicates-topic and --dlq-topic".into(),
            );
        }
        self.dedup.params()
    }

    pub fn group(&self) -> String {
        self.consume
            .group
            .clone()
            .unwrap_or_else(|| "newsflow-dedup".into())
    }
}
