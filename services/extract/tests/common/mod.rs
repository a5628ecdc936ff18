//! Shared set-up of the extract integration tests: a database and topics per test, dedup and
//! extract started as real processes, the seed sample with syndicated copies, a synthetic
//! stream, and the mentions the coder must have produced.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use newsflow_core::coding::{Coder, Document};
use newsflow_core::messages::ArticleMessage;
use newsflow_core::synth::{Generator, SynthConfig, plain_text_article};
use newsflow_testkit::{Service, TestDb, eventually, unique};
use rdkafka::Message;

pub const EXTRACT: &str = env!("CARGO_BIN_EXE_newsflow-extract");

pub fn dedup_bin() -> std::path::PathBuf {
    // The dedup binary is built by the same workspace build, next to this one.
    Path::new(EXTRACT).with_file_name("newsflow-dedup")
}

pub struct Stack {
    pub db: TestDb,
    pub topics: HashMap<String, String>,
    pub run: String,
}

impl Stack {
    pub async fn new() -> anyhow::Result<Self> {
        Ok(Self {
            db: TestDb::new().await?,
            topics: newsflow_testkit::topics(
                &["raw", "articles", "duplicates", "dlq", "events"],
                4,
            )
            .await?,
            run: unique("x"),
        })
    }

    pub fn topic(&self, t: &str) -> &str {
        &self.topics[t]
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", self.db.url.clone()),
            ("NEWSFLOW_INPUT_TOPIC", self.topic("raw").to_owned()),
            ("NEWSFLOW_OUTPUT_TOPIC", self.topic("articles").to_owned()),
            ("NEWSFLOW_ARTICLES_TOPIC", self.topic("articles").to_owned()),
            (
                "NEWSFLOW_DUPLICATES_TOPIC",
                self.topic("duplicates").to_owned(),
            ),
            ("NEWSFLOW_DLQ_TOPIC", self.topic("dlq").to_owned()),
            ("NEWSFLOW_EVENTS_TOPIC", self.topic("events").to_owned()),
        ]
    }

    pub fn start(
        &self,
        bin: &Path,
        service: &str,
        instance: &str,
        extra: &[(&'static str, String)],
    ) -> anyhow::Result<Service> {
        let mut env = self.env();
        env.push(("NEWSFLOW_GROUP", format!("{}-{service}", self.run)));
        env.push(("NEWSFLOW_INSTANCE_ID", format!("{service}-{instance}")));
        env.extend(extra.iter().cloned());
        let mut s = Service::start(bin, &["run"], &env)?;
        s.wait_ready(Duration::from_secs(60))?;
        Ok(s)
    }

    /// Waits until every original is extracted, every copy notice applied and the outbox empty.
    pub async fn wait_extracted(&self, inputs: i64) -> anyhow::Result<()> {
        let db = &self.db;
        let waited = eventually(Duration::from_secs(240), || async {
            let stored = db.count("SELECT count(*) FROM articles").await?;
            let pending = db.count("SELECT count(*) FROM articles WHERE duplicate_of IS NULL AND extracted_at IS NULL").await?;
            let outbox = db.count("SELECT count(*) FROM outbox").await?;
            let lag = db.count(&format!(
                "SELECT coalesce(sum(next_offset), 0)::bigint FROM consumer_offsets WHERE consumer_group = '{}-extract'",
                self.run
            )).await?;
            let forwarded = db.count("SELECT count(*) FROM articles").await?; // every article is one message downstream
            Ok(stored == inputs && pending == 0 && outbox == 0 && lag >= forwarded)
        })
        .await;
        if let Err(e) = waited {
            anyhow::bail!(
                "{e}: articles {}, unextracted {}",
                db.count("SELECT count(*) FROM articles").await?,
                db.count("SELECT count(*) FROM articles WHERE duplicate_of IS NULL AND extracted_at IS NULL").await?
            );
        }
        Ok(())
    }
}

pub fn seed_text() -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/samples/seed-article.txt"
    ))?)
}

pub fn at(day: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    Ok(chrono::DateTime::parse_from_rfc3339(&format!("{day}T09:00:00Z"))?.to_utc())
}

/// The seed sample from its outlet and two syndicated copies from others.
pub fn seed_articles() -> anyhow::Result<Vec<Vec<u8>>> {
    let text = seed_text()?;
    let published = at("2024-06-19")?;
    let mut out = Vec::new();
    for (id, outlet) in [
        ("seed", "seed.example"),
        ("seed-copy-1", "wire.example"),
        ("seed-copy-2", "daily.example"),
    ] {
        let mut body = text.clone();
        if id != "seed" {
            body = format!("{body}\nCopyright 2024 {outlet}. All rights reserved.");
        }
        let json = plain_text_article(
            &body,
            id,
            &format!("https://{outlet}/world/{id}"),
            outlet,
            published,
        );
        out.push(serde_json::to_vec(&json)?);
    }
    Ok(out)
}

pub fn synthetic(n: usize) -> Vec<Vec<u8>> {
    let config = SynthConfig {
        seed: 5,
        articles: n,
        mean_words: 250,
        ..SynthConfig::default()
    };
    Generator::new(config)
        .map(|a| serde_json::to_vec(&a.json).unwrap_or_default())
        .collect()
}

/// Mentions the coder finds in the originals forwarded on news.articles: what Postgres must hold.
pub fn expected_mentions(articles: &[rdkafka::message::OwnedMessage]) -> anyhow::Result<usize> {
    let coder = Coder::embedded()?;
    let mut n = 0;
    let mut seen = HashSet::new();
    for m in articles {
        let a: ArticleMessage = serde_json::from_slice(m.payload().unwrap_or_default())?;
        if !seen.insert(a.article_id) {
            continue;
        }
        let published = a.published_at.unwrap_or(a.ingested_at).date_naive();
        // Mentions are unique per (event, article, sentence, action): count them that way.
        let keys: HashSet<(String, usize, usize)> = coder
            .code(&Document {
                title: a.title.as_deref(),
                text: &a.text,
                published,
            })
            .into_iter()
            .map(|m| (m.event_id(), m.sentence_no, m.action_start))
            .collect();
        n += keys.len();
    }
    Ok(n)
}
