//! Test helpers: a fresh migrated database and fresh topics per test, service binaries run as
//! real processes (so tests can SIGTERM and SIGKILL them), and Kafka produce/consume helpers.
//! Everything talks to the real local broker and Postgres started by `scripts/stack.sh`, unless
//! a test starts a private [`Broker`] or [`PgCluster`] of its own to stop and restart.

mod broker;
mod postgres;

pub use broker::Broker;
pub use postgres::PgCluster;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use newsflow_runtime::config::KafkaArgs;
use newsflow_runtime::{db, kafka};
use rand::Rng;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use sqlx::{Connection, PgConnection, PgPool};

/// Broker address for tests (`NEWSFLOW_TEST_BROKERS`, default the local stack).
pub fn brokers() -> String {
    std::env::var("NEWSFLOW_TEST_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// Admin URL of the Postgres server for tests (`NEWSFLOW_TEST_DATABASE_URL`).
pub fn admin_database_url() -> String {
    std::env::var("NEWSFLOW_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn kafka_args() -> KafkaArgs {
    KafkaArgs {
        brokers: brokers(),
        properties: Vec::new(),
    }
}

/// A short random suffix so parallel tests never share a name.
pub fn unique(prefix: &str) -> String {
    let n: u64 = rand::rng().random();
    format!("{prefix}_{:012x}", n & 0xffff_ffff_ffff)
}

/// A freshly created, migrated database of its own.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
    /// Admin URL of the server holding it (the shared one, or a private [`PgCluster`]).
    admin: String,
}

impl TestDb {
    /// A database on the shared Postgres server.
    pub async fn new() -> anyhow::Result<Self> {
        Self::on(&admin_database_url()).await
    }

    /// A database on the server reached through `admin` (a superuser URL).
    pub async fn on(admin: &str) -> anyhow::Result<Self> {
        let admin = admin.to_owned();
        let name = unique("newsflow_test");
        let mut conn = PgConnection::connect(&admin).await.with_context(|| {
            format!("connecting to {admin} (is Postgres running? scripts/stack.sh up)")
        })?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => bail!("cannot derive a database URL from {admin}"),
        };
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await?;
        db::migrate(&pool).await?;
        Ok(Self {
            name,
            url,
            pool,
            admin,
        })
    }

    /// Drops the database (call at the end of a passing test; a failing one leaves it to inspect).
    pub async fn drop_db(self) -> anyhow::Result<()> {
        self.pool.close().await;
        let mut conn = PgConnection::connect(&self.admin).await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .await?;
        Ok(())
    }

    pub async fn count(&self, sql: &str) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(sql).fetch_one(&self.pool).await?)
    }
}

/// Unique topic names (`name → real name`) for each base name, not yet created.
pub fn topic_names(base: &[&str]) -> HashMap<String, String> {
    let suffix = unique("t");
    base.iter()
        .map(|b| ((*b).to_owned(), format!("{b}.{suffix}")))
        .collect()
}

/// Creates topics with unique names: returns `name → real name` for each base name.
pub async fn topics(base: &[&str], partitions: i32) -> anyhow::Result<HashMap<String, String>> {
    topics_on(&kafka_args(), base, partitions).await
}

/// [`topics`] on the broker `kafka` (a private [`Broker`], say).
pub async fn topics_on(
    kafka: &KafkaArgs,
    base: &[&str],
    partitions: i32,
) -> anyhow::Result<HashMap<String, String>> {
    let names = topic_names(base);
    let list: Vec<(&str, i32)> = names.values().map(|n| (n.as_str(), partitions)).collect();
    kafka::ensure_topics(kafka, &list).await.with_context(|| {
        format!(
            "creating test topics on {} (is the broker running? scripts/stack.sh up)",
            kafka.brokers
        )
    })?;
    Ok(names)
}

/// Produces `payloads` (no key) and waits for every acknowledgement.
pub async fn produce(topic: &str, payloads: &[Vec<u8>]) -> anyhow::Result<()> {
    produce_to(&kafka_args(), topic, payloads).await
}

/// [`produce`] on the broker `kafka`.
pub async fn produce_to(
    kafka: &KafkaArgs,
    topic: &str,
    payloads: &[Vec<u8>],
) -> anyhow::Result<()> {
    // Idempotent like the services' producers, but patient: a broker shared with other test
    // runs can take longer than 30 s to acknowledge, and retrying here would duplicate input.
    let producer: FutureProducer = newsflow_runtime::kafka::client_config(
        kafka,
        &[
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("linger.ms", "5"),
            ("message.timeout.ms", "120000"),
            // Keyless messages spread over every partition, as many scrapers' would: the sticky
            // partitioner (the default) put a whole fast burst on one or two partitions, and a
            // replica holding the others got nothing to do.
            ("sticky.partitioning.linger.ms", "0"),
        ],
    )
    .create()?;
    let sends = payloads.iter().map(|p| {
        let record: FutureRecord<'_, (), [u8]> = FutureRecord::to(topic).payload(p.as_slice());
        producer.send(record, Duration::from_secs(120))
    });
    for result in futures::future::join_all(sends).await {
        result
            .map_err(|(e, _)| e)
            .context("producing test messages")?;
    }
    Ok(())
}

/// Reads every partition of `topic` from the beginning until `expected` messages were read or
/// `timeout` passed, without a consumer group. Returns what was read.
pub fn read_topic(
    topic: &str,
    expected: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<OwnedMessage>> {
    read_topic_on(&kafka_args(), topic, expected, timeout)
}

/// [`read_topic`] on the broker `kafka`.
pub fn read_topic_on(
    kafka: &KafkaArgs,
    topic: &str,
    expected: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<OwnedMessage>> {
    let consumer: BaseConsumer = newsflow_runtime::kafka::client_config(
        kafka,
        &[
            ("group.id", "newsflow-testkit-reader"),
            ("enable.auto.commit", "false"),
        ],
    )
    .create()?;
    // A busy local broker can take longer than one request timeout to answer metadata.
    let metadata = {
        let until = Instant::now() + timeout;
        loop {
            match consumer.fetch_metadata(Some(topic), Duration::from_secs(10)) {
                Ok(m) => break m,
                Err(e) if Instant::now() >= until => return Err(e.into()),
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    };
    let mut tpl = TopicPartitionList::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            tpl.add_partition_offset(topic, p.id(), Offset::Beginning)?;
        }
    }
    consumer.assign(&tpl)?;
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < expected && Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            out.push(m?.detach());
        }
    }
    // Read a little longer to catch anything beyond the expected count (duplicates).
    let linger = Instant::now() + Duration::from_secs(1);
    while Instant::now() < linger {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            out.push(m?.detach());
        }
    }
    Ok(out)
}

/// Reads every partition of `topic` on `kafka` from the beginning up to the high watermarks
/// taken at the start (so everything published before the call), without a consumer group.
pub fn read_to_end(
    kafka: &KafkaArgs,
    topic: &str,
    timeout: Duration,
) -> anyhow::Result<Vec<OwnedMessage>> {
    let consumer: BaseConsumer = newsflow_runtime::kafka::client_config(
        kafka,
        &[
            ("group.id", "newsflow-testkit-reader"),
            ("enable.auto.commit", "false"),
        ],
    )
    .create()?;
    let deadline = Instant::now() + timeout;
    // A busy shared broker may time out a metadata or offsets request: ask again until the
    // deadline rather than fail the test on it.
    let (tpl, mut ends) = loop {
        let attempt = (|| -> anyhow::Result<(TopicPartitionList, HashMap<i32, i64>)> {
            let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
            let mut tpl = TopicPartitionList::new();
            let mut ends: HashMap<i32, i64> = HashMap::new();
            for t in metadata.topics() {
                for p in t.partitions() {
                    let (low, high) =
                        consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(10))?;
                    if high > low {
                        ends.insert(p.id(), high);
                        tpl.add_partition_offset(topic, p.id(), Offset::Beginning)?;
                    }
                }
            }
            Ok((tpl, ends))
        })();
        match attempt {
            Ok(found) => break found,
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    };
    let mut out = Vec::new();
    if ends.is_empty() {
        return Ok(out);
    }
    consumer.assign(&tpl)?;
    while !ends.is_empty() {
        if Instant::now() >= deadline {
            bail!("{topic}: partitions {ends:?} not read to their end within {timeout:?}");
        }
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m?.detach();
            if ends
                .get(&m.partition())
                .is_some_and(|end| m.offset() + 1 >= *end)
            {
                ends.remove(&m.partition());
            }
            out.push(m);
        }
    }
    Ok(out)
}

/// A header value of a message as text.
pub fn header(message: &OwnedMessage, key: &str) -> Option<String> {
    use rdkafka::message::Headers;
    let headers = message.headers()?;
    headers
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
}

/// A free local TCP port for a service's admin server.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A free local port below the kernel's ephemeral range (32768-60999 on Linux), for a server
/// that stops and must get the same port back: while it is down, no outgoing connection or
/// `free_port()` of a parallel test can be handed that port. Random, so parallel tests do not
/// race for the same one.
pub fn private_port() -> anyhow::Result<u16> {
    for _ in 0..200 {
        let port: u16 = rand::rng().random_range(20_000..32_000);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no free port in 20000-31999")
}

/// True when something accepts TCP connections on `addr`.
pub fn port_open(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// A plain HTTP GET (enough for the admin endpoints): status code and body.
pub fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("malformed HTTP response")?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// A service binary running as a child process.
pub struct Service {
    pub child: Child,
    pub admin: SocketAddr,
    pub log: std::path::PathBuf,
}

impl Service {
    /// Starts `binary run` with `env` (plus test defaults: admin port, JSON logs to a file).
    pub fn start(binary: &Path, args: &[&str], env: &[(&str, String)]) -> anyhow::Result<Self> {
        let port = free_port()?;
        let admin: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let log = std::env::temp_dir().join(format!("{}.log", unique("newsflow-service")));
        let file = std::fs::File::create(&log)?;
        let mut cmd = Command::new(binary);
        cmd.args(args)
            .env("NEWSFLOW_ADMIN_ADDR", admin.to_string())
            .env("NEWSFLOW_BROKERS", brokers())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Self { child, admin, log })
    }

    /// Waits until `/readyz` answers 200.
    pub fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "service exited with {status} before it was ready; log:\n{}",
                    self.log_text()
                );
            }
            if matches!(http_get(self.admin, "/readyz"), Ok((200, _))) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "service not ready after {timeout:?}; log:\n{}",
            self.log_text()
        )
    }

    /// The status of `/readyz`, or `None` when the admin server does not answer.
    pub fn readiness(&self) -> Option<u16> {
        http_get(self.admin, "/readyz")
            .ok()
            .map(|(status, _)| status)
    }

    /// The process has not exited (a transient fault must never end it).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The sum of the samples of a Prometheus counter or gauge (all label sets) on `/metrics`.
    pub fn metric(&self, name: &str) -> anyhow::Result<f64> {
        let (_, text) = http_get(self.admin, "/metrics")?;
        Ok(text
            .lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(['{', ' ']))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum())
    }

    /// Everything the service logged so far.
    pub fn full_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        // The tail is what matters when a test fails.
        let start = text.len().saturating_sub(8000);
        text.get(start..).unwrap_or(&text).to_owned()
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM and wait for the exit; returns the exit code.
    pub fn terminate(&mut self, timeout: Duration) -> anyhow::Result<Option<i32>> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.code());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        bail!(
            "service did not exit within {timeout:?} of SIGTERM; log:\n{}",
            self.log_text()
        )
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The log tails of named services, for a failing test's error: CI keeps nothing else.
pub fn logs(services: &[(&str, &Service)]) -> String {
    services
        .iter()
        .map(|(name, s)| {
            format!(
                "\n===== {name} ({}) =====\n{}",
                s.log.display(),
                s.log_text()
            )
        })
        .collect()
}

/// Polls `probe` until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut probe: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if probe().await? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("condition not met within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The keys of every message on `topic` (reading until `expected` or the timeout), as text.
pub fn topic_keys(topic: &str, expected: usize, timeout: Duration) -> anyhow::Result<Vec<String>> {
    Ok(read_topic(topic, expected, timeout)?
        .iter()
        .map(|m| String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned())
        .collect())
}

/// Article keys of every original stored in the database.
pub async fn original_keys(pool: &PgPool) -> anyhow::Result<std::collections::HashSet<String>> {
    Ok(
        sqlx::query_scalar("SELECT article_key FROM articles WHERE duplicate_of IS NULL")
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect(),
    )
}
