//! Configuration of the extract service and its subcommands, validated at start-up.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use newsflow_runtime::config::{ConsumeArgs, DbArgs, KafkaArgs, OpsArgs, validate_topic};

#[derive(Debug, Parser)]
#[command(name = "newsflow-extract", version, about = "Codes events from articles into Postgres and news.events")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Consume news.articles (and copy notices) and run the service.
    Run(Box<RunArgs>),
    /// Offline: code a JSONL file of articles or sentences (`-` for stdin), one JSON line per
    /// event mention, then one `{"id", "story_id"}` line per article. No broker, no database.
    Code(CodeArgs),
    /// Apply the database migrations and exit.
    Migrate(DbArgs),
}

#[derive(Debug, Args)]
pub struct CodeArgs {
    /// JSONL file, or `-` for standard input.
    pub file: PathBuf,
    /// Load dictionaries from this directory instead of the ones compiled in.
    #[arg(long = "dictionaries", env = "NEWSFLOW_DICTIONARIES")]
    pub dictionaries: Option<PathBuf>,
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

    /// Topic of first-seen articles (written by dedup).
    #[arg(long = "articles-topic", env = "NEWSFLOW_ARTICLES_TOPIC", default_value = "news.articles")]
    pub articles_topic: String,

    /// Topic of copy notices (written by dedup), so syndicated copies count as reports too.
    #[arg(long = "duplicates-topic", env = "NEWSFLOW_DUPLICATES_TOPIC", default_value = "news.articles.duplicates")]
    pub duplicates_topic: String,

    /// Topic that receives every created or updated event.
    #[arg(long = "events-topic", env = "NEWSFLOW_EVENTS_TOPIC", default_value = "news.events")]
    pub events_topic: String,

    /// Dead-letter topic for messages that cannot be processed.
    #[arg(long = "dlq-topic", env = "NEWSFLOW_DLQ_TOPIC", default_value = "news.articles.dlq")]
    pub dlq_topic: String,

    /// Load dictionaries from this directory instead of the ones compiled in.
    #[arg(long = "dictionaries", env = "NEWSFLOW_DICTIONARIES")]
    pub dictionaries: Option<PathBuf>,

    /// Apply pending migrations at start-up (otherwise a schema behind this binary stops it).
    #[arg(long = "migrate", env = "NEWSFLOW_MIGRATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub migrate: bool,
}

impl RunArgs {
    /// Everything clap cannot check by itself, with messages that name the setting.
    pub fn validate(&self) -> Result<(), String> {
        self.kafka.validate()?;
        self.db.validate()?;
        for (name, topic) in [
            ("--articles-topic / NEWSFLOW_ARTICLES_TOPIC", &self.articles_topic),
            ("--duplicates-topic / NEWSFLOW_DUPLICATES_TOPIC", &self.duplicates_topic),
            ("--events-topic / NEWSFLOW_EVENTS_TOPIC", &self.events_topic),
            ("--dlq-topic / NEWSFLOW_DLQ_TOPIC", &self.dlq_topic),
        ] {
            validate_topic(name, topic)?;
        }
        if self.articles_topic == self.events_topic || self.duplicates_topic == self.events_topic {
            return Err("--events-topic must differ from the input topics".into());
        }
        Ok(())
    }
}
