//! Command-line / environment configuration shared by every service, validated at start-up.
//!
//! Every setting is a flag with an `NEWSFLOW_*` (or `DATABASE_URL`) environment fallback, so
//! the same binary runs from a shell, a compose file or a Kubernetes ConfigMap. clap's errors
//! name the flag and the environment variable, which is what an operator needs to fix it.

use std::ffi::OsStr;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use clap::builder::TypedValueParser;
use clap::error::ErrorKind;

/// Parses `key=value` into a librdkafka property pair. Errors never repeat the text: a
/// mistyped `sasl.password:…` must not print the password.
fn parse_property(raw: &str) -> Result<(String, String), String> {
    let (key, value) = raw
        .split_once('=')
        .ok_or("expected key=value, got an entry without '=' (not shown: it may hold a secret)")?;
    let key = key.trim();
    if key.is_empty() {
        return Err("an entry has an empty property name before '='".to_owned());
    }
    Ok((key.to_owned(), value.trim().to_owned()))
}

/// clap's own parse errors quote the offending value; this parser's errors do not.
#[derive(Clone)]
struct PropertyParser;

impl TypedValueParser for PropertyParser {
    type Value = (String, String);

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let invalid = |reason: &str| {
            clap::Error::raw(
                ErrorKind::ValueValidation,
                format!("invalid --kafka-property / NEWSFLOW_KAFKA_PROPERTIES: {reason}\n"),
            )
            .with_cmd(cmd)
        };
        let raw = value.to_str().ok_or_else(|| invalid("not UTF-8"))?;
        parse_property(raw).map_err(|e| invalid(&e))
    }
}

/// Whether a librdkafka property holds a secret (`sasl.password`, `ssl.key.password`,
/// `sasl.oauthbearer.client.secret`, `ssl.key.pem`, …): shown as `***` in any output.
pub fn is_secret_property(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "key.pem", "sasl.jaas", "token"]
        .iter()
        .any(|s| key.contains(s))
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
#[derive(Clone, Args)]
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
        hide_env_values = true,
        value_delimiter = ',',
        value_parser = PropertyParser
    )]
    pub properties: Vec<(String, String)>,
}

/// Secret properties print as `***`.
impl fmt::Debug for KafkaArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let properties: Vec<(&str, &str)> = self
            .properties
            .iter()
            .map(|(k, v)| {
                let shown = if is_secret_property(k) { "***" } else { v };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("KafkaArgs")
            .field("brokers", &self.brokers)
            .field("properties", &properties)
            .finish()
    }
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
#[derive(Clone, Args)]
pub struct DbArgs {
    /// Postgres connection URL, e.g. postgres://newsflow@127.0.0.1:5432/newsflow.
    #[arg(long = "database-url", env = "DATABASE_URL", hide_env_values = true)]
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

/// The URL's password prints as `***`.
impl fmt::Debug for DbArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbArgs")
            .field("database_url", &redact_url(&self.database_url))
            .field("max_connections", &self.max_connections)
            .field("statement_timeout_ms", &self.statement_timeout_ms)
            .finish()
    }
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

/// Hides the password of a URL for logs and error messages: in the user info
/// (`user:pw@host`) and in a `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let mut out = match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => format!("{scheme}://{rest}"),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
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
        assert_eq!(
            redact_url("postgres://app:p@ss@db/x?sslmode=require&password=hunter2"),
            "postgres://app:***@db/x?sslmode=require&password=***"
        );
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
    }

    #[derive(Debug, clap::Parser)]
    struct Both {
        #[command(flatten)]
        kafka: KafkaArgs,
        #[command(flatten)]
        db: DbArgs,
    }

    #[test]
    fn secrets_stay_out_of_debug_output_and_errors() {
        use clap::Parser as _;
        let args = Both::try_parse_from([
            "x",
            "--database-url",
            "postgres://app:DbSecret1@db/x",
            "--kafka-property",
            "sasl.password=KafkaSecret2",
            "--kafka-property",
            "ssl.key.password=KeySecret3",
            "--kafka-property",
            "security.protocol=SASL_SSL",
        ])
        .expect("valid arguments");
        let shown = format!("{args:?}");
        for secret in ["DbSecret1", "KafkaSecret2", "KeySecret3"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("SASL_SSL"), "{shown}");
        // A mistyped property (':' for '=') must not be echoed in the error.
        let error = Both::try_parse_from([
            "x",
            "--database-url",
            "postgres://db/x",
            "--kafka-property",
            "sasl.password:KafkaSecret2",
        ])
        .expect_err("no '='")
        .to_string();
        assert!(!error.contains("KafkaSecret2"), "{error}");
        assert!(error.contains("NEWSFLOW_KAFKA_PROPERTIES"), "{error}");
    }
}
