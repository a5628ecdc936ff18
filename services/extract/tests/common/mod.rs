//! Shared set-up of the extract integration tests: a database and topics per test, dedup and
//! extract started as real processes, the seed sample with syndicated copies, a synthetic
//! stream, and the mentions the coder must have produced.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use newsflow_core::coding::{Coder, Document};
use newsflow_core::messages::ArticleMessage;
use newsflow_core::synth::{Generator, SynthConfig, plain_text_article};
use newsflow_runtime::config::KafkaArgs;
use newsflow_testkit::{Service, TestDb, eventually, header, original_keys, read_to_end, unique};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;

/// Events whose stored counts disagree with a recount of their mentions (mentions, distinct
/// articles and outlets, first and last seen, mean confidence): the stage adds counts up
/// incrementally, so this is what must stay true.
pub const INCONSISTENT_EVENTS: &str = "SELECT count(*) FROM events e
    JOIN LATERAL (SELECT count(*)::int AS mentions, count(DISTINCT article_id)::int AS articles,
                         count(DISTINCT source)::int AS sources, min(mentioned_at) AS first_seen,
                         max(mentioned_at) AS last_seen, avg(confidence) AS confidence
                    FROM event_mentions m WHERE m.event_id = e.event_id) c ON true
   WHERE (e.num_mentions, e.num_articles, e.num_sources) <> (c.mentions, c.articles, c.sources)
      OR e.first_seen <> c.first_seen OR e.last_seen <> c.last_seen
      OR abs(e.avg_confidence - c.confidence) > 0.001";

/// Copies of coded originals whose reports are not exactly their original's: every copy dedup
/// linked carries each of its original's mentions once, whether it reached extract before its
/// original was coded or after, and whichever replica handled each.
pub const COPIES_WITHOUT_THEIR_REPORTS: &str = "SELECT count(*) FROM articles c
    JOIN articles o ON o.id = c.duplicate_of AND o.extracted_at IS NOT NULL
   WHERE (SELECT count(*) FROM event_mentions m WHERE m.article_id = c.id AND m.is_copy)
      <> (SELECT count(*) FROM event_mentions m WHERE m.article_id = o.id AND NOT m.is_copy)";

pub const EXTRACT: &str = env!("CARGO_BIN_EXE_newsflow-extract");

/// Checks every story's postings against its stored term vector: `story_terms` must hold
/// exactly the posted terms of `stories.terms` (the heaviest, weights rounded), all on
/// `stories.terms_day`, however many joins only rewrote the postings that moved. Returns how
/// many stories were checked.
pub async fn check_story_postings(db: &TestDb) -> anyhow::Result<usize> {
    use newsflow_core::shortlist::posted_terms;
    use newsflow_core::stories::{term_from_db, terms_from_bytes};
    let stories: Vec<(i64, Option<Vec<u8>>, Option<chrono::NaiveDate>)> =
        sqlx::query_as("SELECT id, terms, terms_day FROM stories ORDER BY id")
            .fetch_all(&db.pool)
            .await?;
    let rows: Vec<(i64, i64, f32, chrono::NaiveDate)> =
        sqlx::query_as("SELECT story_id, term, weight, seen FROM story_terms")
            .fetch_all(&db.pool)
            .await?;
    let mut postings: HashMap<i64, Vec<(u64, f32, chrono::NaiveDate)>> = HashMap::new();
    for (story, term, weight, seen) in rows {
        postings
            .entry(story)
            .or_default()
            .push((term_from_db(term), weight, seen));
    }
    for (id, terms, day) in &stories {
        let terms = terms
            .as_deref()
            .and_then(terms_from_bytes)
            .with_context(|| format!("story {id} has no readable term vector"))?;
        let day = day.with_context(|| format!("story {id} has no postings day"))?;
        anyhow::ensure!(!terms.is_empty(), "story {id} has no terms");
        let mut expected: Vec<(u64, f32, chrono::NaiveDate)> = posted_terms(&terms)
            .into_iter()
            .map(|(t, w)| (t, w, day))
            .collect();
        let mut actual = postings.remove(id).unwrap_or_default();
        expected.sort_by_key(|p| p.0);
        actual.sort_by_key(|p| p.0);
        anyhow::ensure!(
            actual == expected,
            "story {id}: postings {actual:?} are not its terms {expected:?}"
        );
    }
    anyhow::ensure!(
        postings.is_empty(),
        "postings of stories that do not exist: {:?}",
        postings.keys().collect::<Vec<_>>()
    );
    Ok(stories.len())
}

pub fn dedup_bin() -> std::path::PathBuf {
    // The dedup binary is built by the same workspace build, next to this one.
    Path::new(EXTRACT).with_file_name("newsflow-dedup")
}

pub struct Stack {
    pub db: TestDb,
    pub topics: HashMap<String, String>,
    pub run: String,
    /// The broker the services and the test talk to (the shared one, or a private one).
    pub kafka: KafkaArgs,
}

/// The topics of a pipeline run.
pub const TOPICS: [&str; 5] = ["raw", "articles", "duplicates", "dlq", "events"];

/// What a run ended with, for the figures a fault test prints.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub inputs: usize,
    pub originals: usize,
    pub mentions: usize,
    pub events: usize,
    /// Input messages neither stored nor dead-lettered.
    pub lost: usize,
    /// Input messages stored twice plus output messages published twice (same outbox id).
    pub duplicated: usize,
}

impl Stack {
    /// A database and topics of its own, on the shared Postgres and broker.
    pub async fn new() -> anyhow::Result<Self> {
        Self::on(newsflow_testkit::kafka_args(), TestDb::new().await?, &[]).await
    }

    /// A pipeline on the broker `kafka` with the database `db`; the topics named in `missing`
    /// get names but are not created (see [`Stack::create_topic`]).
    pub async fn on(kafka: KafkaArgs, db: TestDb, missing: &[&str]) -> anyhow::Result<Self> {
        let topics = newsflow_testkit::topic_names(&TOPICS);
        let stack = Self {
            db,
            topics,
            run: unique("x"),
            kafka,
        };
        for t in TOPICS.iter().filter(|t| !missing.contains(t)) {
            stack.create_topic(t).await?;
        }
        Ok(stack)
    }

    /// Creates one of the run's topics (4 partitions).
    pub async fn create_topic(&self, t: &str) -> anyhow::Result<()> {
        newsflow_runtime::kafka::ensure_topics(&self.kafka, &[(self.topic(t), 4)])
            .await
            .with_context(|| format!("creating {} on {}", self.topic(t), self.kafka.brokers))
    }

    pub fn topic(&self, t: &str) -> &str {
        &self.topics[t]
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("NEWSFLOW_BROKERS", self.kafka.brokers.clone()),
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

    /// Starts a replica with static membership (`instance` names it) and waits until ready.
    pub fn start(
        &self,
        bin: &Path,
        service: &str,
        instance: &str,
        extra: &[(&'static str, String)],
    ) -> anyhow::Result<Service> {
        let mut s = self.spawn(bin, service, Some(instance), extra)?;
        s.wait_ready(Duration::from_secs(60))?;
        Ok(s)
    }

    /// Starts a replica of `service` (`dedup` or `extract`) in the run's group without waiting
    /// for readiness; `instance` gives it static membership, `None` dynamic membership.
    pub fn spawn(
        &self,
        bin: &Path,
        service: &str,
        instance: Option<&str>,
        extra: &[(&'static str, String)],
    ) -> anyhow::Result<Service> {
        let mut env = self.env();
        env.push(("NEWSFLOW_GROUP", format!("{}-{service}", self.run)));
        if let Some(instance) = instance {
            env.push(("NEWSFLOW_INSTANCE_ID", format!("{service}-{instance}")));
        }
        env.extend(extra.iter().cloned());
        Service::start(bin, &["run"], &env)
    }

    /// Produces `payloads` to the run's raw topic.
    pub async fn feed(&self, payloads: &[Vec<u8>]) -> anyhow::Result<()> {
        newsflow_testkit::produce_to(&self.kafka, self.topic("raw"), payloads).await
    }

    /// Input messages recorded by dedup: stored articles (originals and linked copies) plus
    /// messages dead-lettered from the raw topic.
    pub async fn accounted(&self) -> anyhow::Result<i64> {
        Ok(self.db.count("SELECT count(*) FROM articles").await?
            + self
                .db
                .count(&format!(
                    "SELECT count(*) FROM rejected_messages WHERE src_topic = '{}'",
                    self.topic("raw")
                ))
                .await?)
    }

    /// Waits until every input is accounted for, every original extracted, every forwarded
    /// message consumed by extract and the outbox empty.
    pub async fn wait_extracted(&self, inputs: i64) -> anyhow::Result<()> {
        let db = &self.db;
        let waited = eventually(Duration::from_secs(240), || async {
            let accounted = self.accounted().await?;
            let pending = db.count("SELECT count(*) FROM articles WHERE duplicate_of IS NULL AND extracted_at IS NULL").await?;
            let outbox = db.count("SELECT count(*) FROM outbox").await?;
            let lag = db.count(&format!(
                "SELECT coalesce(sum(next_offset), 0)::bigint FROM consumer_offsets WHERE consumer_group = '{}-extract'",
                self.run
            )).await?;
            let forwarded = db.count("SELECT count(*) FROM articles").await?; // every article is one message downstream
            Ok(accounted == inputs && pending == 0 && outbox == 0 && lag >= forwarded)
        })
        .await;
        if let Err(e) = waited {
            anyhow::bail!(
                "{e}: accounted {} of {inputs}, unextracted {}, outbox {}",
                self.accounted().await?,
                db.count("SELECT count(*) FROM articles WHERE duplicate_of IS NULL AND extracted_at IS NULL").await?,
                db.count("SELECT count(*) FROM outbox").await?
            );
        }
        Ok(())
    }

    /// The end-of-run checks every pipeline test shares, after [`Stack::wait_extracted`]:
    /// every input message stored or dead-lettered exactly once, nothing dead-lettered as
    /// `store_failed`, every original forwarded exactly once, every mention coded exactly once,
    /// every event id on the events topic and no outbox message published twice.
    pub async fn verify_exactly_once(&self, inputs: usize) -> anyhow::Result<Figures> {
        let db = &self.db;
        let raw = self.topic("raw");
        let rows = self.accounted().await? as usize;
        let distinct = db
            .count(&format!(
                "SELECT count(*) FROM (SELECT src_partition, src_offset FROM articles
                  UNION SELECT src_partition, src_offset FROM rejected_messages WHERE src_topic = '{raw}') p"
            ))
            .await? as usize;
        let lost = inputs.saturating_sub(distinct);
        let mut duplicated = rows - distinct;
        let store_failed = db
            .count("SELECT count(*) FROM rejected_messages WHERE error_class = 'store_failed'")
            .await?;

        // Every original on the articles topic, once.
        let originals = original_keys(&db.pool).await?;
        let forwarded = self.read("articles")?;
        let keys: HashSet<String> = forwarded
            .iter()
            .map(|m| String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned())
            .collect();
        duplicated += republished(&forwarded);
        // Every mention exactly once, event counts consistent with them.
        let mentions = expected_mentions(&forwarded)?;
        let stored_mentions = db
            .count("SELECT count(*) FROM event_mentions WHERE NOT is_copy")
            .await? as usize;
        let inconsistent = db.count(INCONSISTENT_EVENTS).await?;
        let copies_missing = db.count(COPIES_WITHOUT_THEIR_REPORTS).await?;
        check_story_postings(db).await?;
        // Every event id on the events topic (updates re-publish an id: the set must match).
        let event_ids: HashSet<Vec<u8>> = sqlx::query_scalar("SELECT event_id FROM events")
            .fetch_all(&db.pool)
            .await?
            .into_iter()
            .map(String::into_bytes)
            .collect();
        let published = self.read("events")?;
        let published_ids: HashSet<Vec<u8>> = published
            .iter()
            .filter_map(|m| m.key().map(<[u8]>::to_vec))
            .collect();
        duplicated += republished(&published);

        let figures = Figures {
            inputs,
            originals: originals.len(),
            mentions,
            events: event_ids.len(),
            lost,
            duplicated,
        };
        anyhow::ensure!(
            rows == inputs && distinct == inputs,
            "{inputs} inputs but {rows} rows for {distinct} distinct input messages: {figures:?}"
        );
        anyhow::ensure!(
            store_failed == 0,
            "{store_failed} messages dead-lettered as store_failed"
        );
        anyhow::ensure!(
            keys == originals,
            "originals forwarded ({}) differ from originals stored ({})",
            keys.len(),
            originals.len()
        );
        anyhow::ensure!(
            duplicated == 0,
            "{duplicated} duplicates (rows or re-published outbox messages): {figures:?}"
        );
        anyhow::ensure!(
            stored_mentions == mentions,
            "{stored_mentions} mentions stored, {mentions} expected"
        );
        anyhow::ensure!(
            inconsistent == 0,
            "{inconsistent} events whose counts disagree with their mentions"
        );
        anyhow::ensure!(
            copies_missing == 0,
            "{copies_missing} copies whose reports differ from their original's"
        );
        anyhow::ensure!(
            published_ids == event_ids,
            "{} event ids published, {} events stored ({} stored ones never published)",
            published_ids.len(),
            event_ids.len(),
            event_ids.difference(&published_ids).count()
        );
        Ok(figures)
    }

    /// Everything on one of the run's topics.
    pub fn read(&self, t: &str) -> anyhow::Result<Vec<OwnedMessage>> {
        read_to_end(&self.kafka, self.topic(t), Duration::from_secs(180))
    }
}

/// Messages published more than once: the same outbox id seen again on a topic.
pub fn republished(messages: &[OwnedMessage]) -> usize {
    let ids: HashSet<String> = messages
        .iter()
        .filter_map(|m| header(m, newsflow_runtime::outbox::OUTBOX_ID_HEADER))
        .collect();
    messages.len() - ids.len()
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
