//! Command-line / environment configuration shared by every service, validated at start-up.
//!
//! Every setting is a flag with an `NEWSFLOW_*` (or `DATABASE_URL`) environment fallback, so
//! the same binary runs from a shell, a compose file or a Kubernetes ConfigMap. clap's errors
//! name the flag and the environment variable, which is what an operator needs to fix it.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

/// Parses `key=value` into a librdkafka property pair.
fn parse_property(raw: &str) -> Result<(String, String), String> {
    let (key, value) = raw
        .split_once('=')
        .ok_or_else(|| format!("expected key=value, got {raw:?}"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("empty property name in {raw:?}"));
    }
    Ok((key.to_owned(), value.trim().to_owned()))
}

/// Parses a duration given in milliseconds.
pub fn parse_millis(raw: &str) -> Result<Duration, String> {
    raw.trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|e| format!("expected a whole number of milliseconds, got {raw:?}: {e}"))
}

/// Checks a Kafka topic name (legal characters and length) so a typo fails at start-up.
pub fn validate_topic(setting: &str, topic: &str) -> Result<(), String> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if topic.is_empty()
        || topic.len() > 249
        || !topic.chars().all(legal)
        || topic == "."
        || topic == ".."
    {
        return Err(format!(
            "{setting} must be a Kafka topic name (1-249 of [a-zA-Z0-9._-]), got {topic:?}"
        ));
    }
    Ok(())
}

/// How to reach the Kafka cluster.
#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Bootstrap brokers, comma separated (use 127.0.0.1, not localhost: librdkafka may try IPv6 first).
    #[arg(
        long = "brokers",
        env = "NEWSFLOW_BROKERS",
        default_value = "127.0.0.1:9092"
    )]
    pub brokers: String,

    /// Extra librdkafka properties (`key=value`), e.g. `security.protocol=SASL_SSL`.
    /// Repeat the flag, or separate with commas in the environment variable.
    #[arg(
        long = "kafka-property",
        env = "NEWSFLOW_KAFKA_PROPERTIES",
        value_delimiter = ',',
        value_parser = parse_property
    )]
    pub properties: Vec<(String, String)>,
}

impl KafkaArgs {
    /// Checks what clap cannot: the broker list is not empty.
    pub fn validate(&self) -> Result<(), String> {
        if self.brokers.split(',').all(|b| b.trim().is_empty()) {
            return Err("--brokers / NEWSFLOW_BROKERS must name at least one broker".into());
        }
        Ok(())
    }
}

/// How to reach Postgres.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Postgres connection URL, e.g. postgres://newsflow@127.0.0.1:5432/newsflow.
    #[arg(long = "database-url", env = "DATABASE_URL")]
    pub database_url: String,

    /// Largest number of pooled Postgres connections.
    #[arg(long = "db-max-connections", env = "NEWSFLOW_DB_MAX_CONNECTIONS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_connections: u32,

    /// Statement timeout for the service's own writes, in milliseconds (0 = none).
    #[arg(
        long = "db-statement-timeout-ms",
        env = "NEWSFLOW_DB_STATEMENT_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub statement_timeout_ms: u64,
}

impl DbArgs {
    /// Checks the URL's scheme so a typo fails at start-up, not at the first query.
    pub fn validate(&self) -> Result<(), String> {
        let url = self.database_url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(format!(
                "--database-url / DATABASE_URL must be a postgres:// URL, got {:?}",
                redact_url(url)
            ));
        }
        Ok(())
    }
}

/// Hides the password of a URL for logs and error messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => url.to_owned(),
    }
}

/// The admin HTTP endpoint and logging.
#[derive(Debug, Clone, Args)]
pub struct OpsArgs {
    /// Address of the admin server (/healthz, /readyz, /metrics).
    #[arg(
        long = "admin-addr",
        env = "NEWSFLOW_ADMIN_ADDR",
        default_value = "0.0.0.0:9000"
    )]
    pub admin_addr: SocketAddr,

    /// Log format: `json` (default, for collectors) or `pretty` (for people).
    #[arg(long = "log-format", env = "NEWSFLOW_LOG_FORMAT", default_value = "json",
          value_parser = ["json", "pretty"])]
    pub log_format: String,

    /// How long SIGTERM may take to drain, commit and flush before the process gives up, in milliseconds.
    #[arg(long = "shutdown-grace-ms", env = "NEWSFLOW_SHUTDOWN_GRACE_MS", default_value = "20000",
          value_parser = parse_millis)]
    pub shutdown_grace: Duration,
}

/// How a stage consumes: its group, batching and the outbox relay.
#[derive(Debug, Clone, Args)]
pub struct ConsumeArgs {
    /// Kafka consumer group; also the key of the offsets stored in Postgres.
    #[arg(long = "group", env = "NEWSFLOW_GROUP")]
    pub group: Option<String>,

    /// Static group membership (`group.instance.id`): a replica restarted with the same id
    /// takes its partitions back at once instead of waiting for the dead member to be evicted
    /// (use a stable name such as a StatefulSet pod name). Unset: dynamic membership.
    #[arg(long = "instance-id", env = "NEWSFLOW_INSTANCE_ID")]
    pub instance_id: Option<String>,

    /// Largest number of messages processed in one Postgres transaction.
    #[arg(long = "batch-size", env = "NEWSFLOW_BATCH_SIZE", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch_size: u32,

    /// How long to wait for a batch to fill before processing what is there, in milliseconds.
    #[arg(long = "batch-linger-ms", env = "NEWSFLOW_BATCH_LINGER_MS", default_value = "100",
          value_parser = parse_millis)]
    pub batch_linger: Duration,

    /// Run the outbox relay in this process (every replica normally does; they share the work).
    #[arg(long = "relay", env = "NEWSFLOW_RELAY", default_value_t = true, action = clap::ArgAction::Set)]
    pub relay: bool,

    /// Outbox backlog (messages written but not yet published) above which `/readyz` reports
    /// not ready: the output topics are unreachable or too slow.
    #[arg(long = "outbox-not-ready", env = "NEWSFLOW_OUTBOX_NOT_READY", default_value_t = 100_000,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub outbox_not_ready: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_parsing() {
        assert_eq!(
            parse_property("security.protocol=SASL_SSL"),
            Ok(("security.protocol".into(), "SASL_SSL".into()))
        );
        assert!(parse_property("novalue").is_err());
        assert!(parse_property("=x").is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/newsflow"),
            "postgres://app:***@db:5432/newsflow"
        );
        assert_eq!(redact_url("postgres://app@db/x"), "postgres://app@db/x");
    }
}
