//! End to end through the real broker and Postgres: a synthetic stream with labelled
//! duplicates, the seed sample and poison messages in; rows, duplicate links, the output topic
//! and the DLQ checked against the ground truth.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::{Stack, poison, seed_sample, synthetic};
use newsflow_core::synth::{Decision, score};
use newsflow_testkit::{header, original_keys, produce, read_topic};
use rdkafka::Message;

#[tokio::test(flavor = "multi_thread")]
async fn synthetic_stream_seed_and_poison_end_to_end() -> anyhow::Result<()> {
    let stack = Stack::new(4).await?;
    let (articles, truth) = synthetic(7, 1500, 300);
    let poison = poison();
    let mut payloads = articles.clone();
    payloads.push(seed_sample()?);
    payloads.extend(poison.iter().map(|(p, _)| p.clone()));
    produce(stack.topic("raw"), &payloads).await?;

    let mut service = stack.start(&[])?;
    stack
        .wait_accounted(payloads.len() as i64, Duration::from_secs(240))
        .await?;

    // Duplicate links against the ground truth.
    let rows: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT a.external_id, o.external_id FROM articles a LEFT JOIN articles o ON o.id = a.duplicate_of",
    )
    .fetch_all(&stack.db.pool)
    .await?;
    let decisions = rows.iter().filter_map(|(id, of)| {
        Some(Decision {
            id: id.as_deref()?,
            is_duplicate: of.is_some(),
            duplicate_of: of.as_deref(),
        })
    });
    let s = score(&truth, decisions);
    println!(
        "dedup vs ground truth: precision {:.4} recall {:.4} (tp {} fp {} fn {} wrong original {}) per kind {:?}",
        s.precision,
        s.recall,
        s.true_positives,
        s.false_positives,
        s.false_negatives,
        s.wrong_original,
        s.per_kind
    );
    assert!(s.precision >= 0.98, "precision {}", s.precision);
    assert!(s.recall >= 0.95, "recall {}", s.recall);
    assert_eq!(s.wrong_original, 0);

    // The seed sample is stored as an original with its text.
    let seed: (Option<String>, i32) = sqlx::query_as(
        "SELECT duplicate_kind, word_count FROM articles WHERE external_id = 'seed-article'",
    )
    .fetch_one(&stack.db.pool)
    .await?;
    assert_eq!(seed.0, None);
    assert!(seed.1 > 900, "seed sample stored with {} words", seed.1);

    // Exactly the originals on news.articles, each once, with the article JSON.
    let originals = original_keys(&stack.db.pool).await?;
    let forwarded = read_topic(
        stack.topic("articles"),
        originals.len(),
        Duration::from_secs(60),
    )?;
    let keys: Vec<String> = forwarded
        .iter()
        .map(|m| String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned())
        .collect();
    assert_eq!(
        keys.len(),
        originals.len(),
        "every original forwarded exactly once"
    );
    assert_eq!(keys.iter().cloned().collect::<HashSet<_>>(), originals);
    let first: newsflow_core::messages::ArticleMessage =
        serde_json::from_slice(forwarded[0].payload().unwrap_or_default())?;
    assert!(!first.text.is_empty());

    // Every poison message on the DLQ, with its bytes, class, reason and provenance.
    let dlq = read_topic(stack.topic("dlq"), poison.len(), Duration::from_secs(60))?;
    assert_eq!(dlq.len(), poison.len());
    let expected: HashMap<Vec<u8>, &str> = poison.iter().map(|(p, c)| (p.clone(), *c)).collect();
    for m in &dlq {
        let payload = m.payload().unwrap_or_default().to_vec();
        let class = header(m, "newsflow.error.class").unwrap_or_default();
        assert_eq!(
            Some(&class.as_str()),
            expected.get(&payload),
            "class of {:?}",
            String::from_utf8_lossy(&payload)
        );
        assert!(
            !header(m, "newsflow.error.reason")
                .unwrap_or_default()
                .is_empty()
        );
        assert_eq!(
            header(m, "newsflow.source.topic").as_deref(),
            Some(stack.topic("raw"))
        );
        assert!(header(m, "newsflow.source.offset").is_some_and(|o| o.parse::<i64>().is_ok()));
    }
    assert_eq!(
        stack
            .db
            .count("SELECT count(*) FROM rejected_messages")
            .await?,
        poison.len() as i64
    );

    // The operator's DLQ command lists every dead letter and replays the chosen ones.
    let feed = std::path::Path::new(common::BIN).with_file_name("newsflow-feed");
    let listed = std::process::Command::new(&feed)
        .args(["dlq", "--dlq-topic", stack.topic("dlq")])
        .output()?;
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(listed.stdout)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(lines.len(), poison.len());
    assert!(
        lines
            .iter()
            .all(|l| l["reason"].as_str().is_some_and(|r| !r.is_empty()))
    );
    let replay = newsflow_testkit::topics(&["replay"], 1).await?;
    let replayed = std::process::Command::new(&feed)
        .args([
            "dlq",
            "--dlq-topic",
            stack.topic("dlq"),
            "--class",
            "no_text",
            "--replay-to",
            &replay["replay"],
        ])
        .output()?;
    assert!(
        replayed.status.success(),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
    let copies = read_topic(&replay["replay"], 1, Duration::from_secs(20))?;
    assert_eq!(copies.len(), 1);
    let original = poison
        .iter()
        .find(|(_, c)| *c == "no_text")
        .map(|(p, _)| p.clone())
        .unwrap_or_default();
    assert_eq!(copies[0].payload().unwrap_or_default(), original.as_slice());
    assert!(header(&copies[0], "newsflow.replayed-from").is_some());
    assert!(header(&copies[0], "newsflow.error.class").is_none());

    // The admin endpoints report what happened.
    let (status, metrics) = newsflow_testkit::http_get(service.admin, "/metrics")?;
    assert_eq!(status, 200);
    assert!(metrics.contains("newsflow_messages_total"), "{metrics}");
    assert!(metrics.contains("newsflow_dlq_total"));
    assert_eq!(
        newsflow_testkit::http_get(service.admin, "/healthz")?.0,
        200
    );

    // SIGTERM drains and exits cleanly.
    assert_eq!(
        service.terminate(Duration::from_secs(30))?,
        Some(0),
        "{}",
        service.log_text()
    );
    stack.db.drop_db().await
}

#[tokio::test(flavor = "multi_thread")]
async fn replaying_the_same_input_adds_duplicates_not_originals() -> anyhow::Result<()> {
    let stack = Stack::new(2).await?;
    let (articles, _) = synthetic(21, 200, 200);
    produce(stack.topic("raw"), &articles).await?;
    let mut service = stack.start(&[])?;
    stack.wait_accounted(200, Duration::from_secs(120)).await?;
    let originals = stack
        .db
        .count("SELECT count(*) FROM articles WHERE duplicate_of IS NULL")
        .await?;

    // A scraper re-sends everything: each copy is recorded and linked, nothing new forwarded.
    produce(stack.topic("raw"), &articles).await?;
    stack.wait_accounted(400, Duration::from_secs(120)).await?;
    assert_eq!(
        stack
            .db
            .count("SELECT count(*) FROM articles WHERE duplicate_of IS NULL")
            .await?,
        originals
    );
    let forwarded = read_topic(
        stack.topic("articles"),
        originals as usize,
        Duration::from_secs(30),
    )?;
    assert_eq!(forwarded.len() as i64, originals);
    assert_eq!(service.terminate(Duration::from_secs(30))?, Some(0));
    stack.db.drop_db().await
}
