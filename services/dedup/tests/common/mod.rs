//! Shared set-up of the dedup integration tests: a database, topics and a way to start the
//! service against them, plus the synthetic stream and poison messages to feed it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use newsflow_core::synth::{Generator, SynthConfig, Truth};
use newsflow_runtime::config::KafkaArgs;
use newsflow_testkit::{Service, TestDb};

pub const BIN: &str = env!("CARGO_BIN_EXE_newsflow-dedup");

pub struct Stack {
    pub db: TestDb,
    pub topics: HashMap<String, String>,
    pub group: String,
    /// The broker the topics are on and the replicas use.
    pub kafka: KafkaArgs,
}

impl Stack {
    /// A stack on the shared local broker.
    pub async fn new(partitions: i32) -> anyhow::Result<Self> {
        Self::on(newsflow_testkit::kafka_args(), partitions).await
    }

    /// A stack on the broker `kafka` (a private one, say).
    pub async fn on(kafka: KafkaArgs, partitions: i32) -> anyhow::Result<Self> {
        let db = TestDb::new().await?;
        let topics = newsflow_testkit::topics_on(
            &kafka,
            &["raw", "articles", "duplicates", "dlq"],
            partitions,
        )
        .await?;
        Ok(Self {
            db,
            topics,
            group: newsflow_testkit::unique("dedup"),
            kafka,
        })
    }

    pub fn topic(&self, name: &str) -> &str {
        &self.topics[name]
    }

    /// Starts one dedup replica and waits until it is ready.
    pub fn start(&self, extra: &[(&str, String)]) -> anyhow::Result<Service> {
        let mut env = vec![
            ("DATABASE_URL", self.db.url.clone()),
            ("NEWSFLOW_INPUT_TOPIC", self.topic("raw").to_owned()),
            ("NEWSFLOW_OUTPUT_TOPIC", self.topic("articles").to_owned()),
            ("NEWSFLOW_DLQ_TOPIC", self.topic("dlq").to_owned()),
            (
                "NEWSFLOW_DUPLICATES_TOPIC",
                self.topic("duplicates").to_owned(),
            ),
            ("NEWSFLOW_GROUP", self.group.clone()),
            ("NEWSFLOW_SHUTDOWN_GRACE_MS", "15000".to_owned()),
            ("NEWSFLOW_BROKERS", self.kafka.brokers.clone()),
        ];
        env.extend(extra.iter().cloned());
        let mut service = Service::start(Path::new(BIN), &["run"], &env)?;
        service.wait_ready(Duration::from_secs(60))?;
        Ok(service)
    }

    /// Rows recorded for input messages: articles plus rejected messages.
    pub async fn accounted(&self) -> anyhow::Result<i64> {
        Ok(self.db.count("SELECT count(*) FROM articles").await?
            + self
                .db
                .count("SELECT count(*) FROM rejected_messages")
                .await?)
    }

    /// Waits until `n` input messages are accounted for and the outbox is empty.
    pub async fn wait_accounted(&self, n: i64, timeout: Duration) -> anyhow::Result<()> {
        let waited = newsflow_testkit::eventually(timeout, || async {
            Ok(self.accounted().await? >= n
                && self.db.count("SELECT count(*) FROM outbox").await? == 0)
        })
        .await;
        if let Err(e) = waited {
            anyhow::bail!(
                "{e}: {} of {n} messages accounted for",
                self.accounted().await?
            );
        }
        async { Ok::<(), anyhow::Error>(()) }.await?;
        let got = self.accounted().await?;
        anyhow::ensure!(got == n, "{got} rows for {n} input messages");
        Ok(())
    }
}

/// A synthetic stream with its ground truth.
pub fn synthetic(seed: u64, articles: usize, mean_words: usize) -> (Vec<Vec<u8>>, Vec<Truth>) {
    let config = SynthConfig {
        seed,
        articles,
        mean_words,
        ..SynthConfig::default()
    };
    Generator::new(config)
        .map(|a| (serde_json::to_vec(&a.json).unwrap_or_default(), a.truth))
        .unzip()
}

/// Messages that cannot become articles, each with the class the DLQ must name.
pub fn poison() -> Vec<(Vec<u8>, &'static str)> {
    vec![
        (b"this is not json".to_vec(), "invalid_json"),
        (b"{\"url\": \"https://x.example/a\", \"title\": ".to_vec(), "invalid_json"),
        (b"[1, 2, 3]".to_vec(), "not_an_object"),
        (b"\"just a string\"".to_vec(), "not_an_object"),
        (vec![b'{', 0xff, 0xfe, b'}'], "bad_encoding"),
        (br#"{"url": "https://x.example/empty", "title": "Empty", "body": ""}"#.to_vec(), "no_text"),
        (br#"{"title": "No identity", "body": "A long enough body of text that has no url and no id at all, so it cannot be referenced."}"#.to_vec(), "no_identity"),
        (br#"{"url": {"nested": true}, "body": "A long enough body of text whose url field has the wrong type entirely."}"#.to_vec(), "invalid_field"),
        (format!("{}1{}", "[".repeat(200), "]".repeat(200)).into_bytes(), "invalid_json"),
        (Vec::new(), "invalid_json"),
    ]
}

pub fn seed_sample() -> anyhow::Result<Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/samples/seed-article.txt"
    );
    let text = std::fs::read_to_string(path)?;
    let published = chrono::DateTime::parse_from_rfc3339("2024-06-19T12:00:00Z")?.to_utc();
    let json = newsflow_core::synth::plain_text_article(
        &text,
        "seed-article",
        "https://seed.example/seed-article",
        "seed.example",
        published,
    );
    Ok(serde_json::to_vec(&json)?)
}
