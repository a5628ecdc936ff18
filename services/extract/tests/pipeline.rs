//! Extraction end to end through the real broker and Postgres, with dedup in front of it:
//! the seed sample (and syndicated copies of it) plus a synthetic stream in; the expected
//! events and mentions in Postgres and on news.events; replays and crashes change nothing.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use common::{EXTRACT, Stack, dedup_bin, expected_mentions, seed_articles, synthetic};
use newsflow_core::messages::EventMessage;
use newsflow_testkit::{eventually, produce, read_topic};
use rdkafka::Message;

#[tokio::test(flavor = "multi_thread")]
async fn seed_sample_becomes_merged_events_with_copies_counted() -> anyhow::Result<()> {
    let stack = Stack::new().await?;
    let mut inputs = seed_articles()?;
    inputs.extend(synthetic(300));
    produce(stack.topic("raw"), &inputs).await?;
    let mut dedup = stack.start(&dedup_bin(), "dedup", "0", &[])?;
    let mut extract = stack.start(Path::new(EXTRACT), "extract", "0", &[])?;
    stack.wait_extracted(inputs.len() as i64).await?;
    let pool = &stack.db.pool;

    // The treaty signing: one event (a signing is symmetric, so every report of it has one
    // event id whichever side it names first), dated 2024-06-19, its reports merged.
    let treaty: Vec<(String, String, Option<String>, i32, i32, i32)> = sqlx::query_as(
        "SELECT event_id, source_code, target_code, num_mentions, num_articles, num_sources FROM events
          WHERE cameo_code = '057' AND event_date = '2024-06-19'
            AND source_country IN ('RUS', 'PRK') AND target_country IN ('RUS', 'PRK')",
    )
    .fetch_all(pool)
    .await?;
    println!("treaty events: {treaty:?}");
    assert_eq!(treaty.len(), 1, "one treaty signing event: {treaty:?}");
    let (_, source, target, mentions, articles, sources) = &treaty[0];
    // Canonical order of a symmetric event: North Korea (PRK) before Russia (RUS).
    assert!(
        source.starts_with("PRK") && target.as_deref().is_some_and(|t| t.starts_with("RUS")),
        "canonical direction: {source} -> {target:?}"
    );
    // Three reports in the seed ("signed a new treaty", "was signed by Putin and Kim",
    // "agreements signed on Wednesday"), times the original and its two syndicated copies.
    assert_eq!(
        *mentions, 9,
        "treaty reports not merged: {mentions} mentions"
    );
    assert_eq!(*articles, 3, "the syndicated copies count as articles");
    assert_eq!(*sources, 3, "and as outlets");

    // The seed and its copies are one story; the treaty events belong to it.
    let seed_stories: Vec<Option<i64>> =
        sqlx::query_scalar("SELECT DISTINCT story_id FROM articles WHERE external_id LIKE 'seed%'")
            .fetch_all(pool)
            .await?;
    assert_eq!(seed_stories.len(), 1);
    assert!(seed_stories[0].is_some());
    let story: (i32, i32, i32) =
        sqlx::query_as("SELECT article_count, copy_count, source_count FROM stories WHERE id = $1")
            .bind(seed_stories[0])
            .fetch_one(pool)
            .await?;
    assert_eq!(story, (1, 2, 3));
    let treaty_story: Option<i64> =
        sqlx::query_scalar("SELECT story_id FROM events WHERE event_id = $1")
            .bind(&treaty[0].0)
            .fetch_one(pool)
            .await?;
    assert_eq!(treaty_story, seed_stories[0]);
    assert_eq!(
        stack
            .db
            .count("SELECT count(*) FROM articles WHERE story_id IS NULL")
            .await?,
        0
    );

    // No "Putin meets Putin" self-event, and the seed yields a short list of distinct events.
    let self_events = stack
        .db
        .count("SELECT count(*) FROM events WHERE source_name = target_name")
        .await?;
    assert_eq!(self_events, 0);
    let seed_events = stack.db.count(
        "SELECT count(DISTINCT m.event_id) FROM event_mentions m JOIN articles a ON a.id = m.article_id
          WHERE a.external_id = 'seed'",
    ).await?;
    println!("distinct events in the seed sample: {seed_events}");
    assert!(
        (5..=40).contains(&seed_events),
        "{seed_events} events from the seed"
    );

    // Every original's mentions are stored once; copies carry their original's mentions.
    let forwarded = forwarded_originals(&stack).await?;
    let expected = expected_mentions(&forwarded)?;
    assert_eq!(
        stack
            .db
            .count("SELECT count(*) FROM event_mentions WHERE NOT is_copy")
            .await?,
        expected as i64
    );
    let copies = stack
        .db
        .count("SELECT count(*) FROM event_mentions WHERE is_copy")
        .await?;
    let copy_expected = stack.db.count(
        "SELECT count(*) FROM event_mentions m JOIN articles d ON d.duplicate_of = m.article_id WHERE NOT m.is_copy",
    ).await?;
    assert_eq!(copies, copy_expected);

    // news.events: every event, the last message per key matching Postgres.
    let total_events = stack.db.count("SELECT count(*) FROM events").await?;
    let published = read_topic(
        stack.topic("events"),
        total_events as usize,
        Duration::from_secs(60),
    )?;
    let mut latest: HashMap<String, EventMessage> = HashMap::new();
    for m in &published {
        let e: EventMessage = serde_json::from_slice(m.payload().unwrap_or_default())?;
        assert_eq!(m.key(), Some(e.event_id.as_bytes()));
        latest.insert(e.event_id.clone(), e);
    }
    assert_eq!(latest.len() as i64, total_events, "every event published");
    let e = &latest[&treaty[0].0];
    assert_eq!(e.num_mentions, *mentions);
    assert!(!e.evidence.is_empty() && e.evidence.len() <= 5);
    assert!(
        e.evidence
            .iter()
            .any(|ev| ev.url.as_deref().is_some_and(|u| u.contains("seed")))
    );

    // The analysts' reports over what the real pipeline stored.
    let report = |args: &[&str]| -> anyhow::Result<serde_json::Value> {
        let out = std::process::Command::new(Path::new(EXTRACT).with_file_name("newsflow-report"))
            .args(args)
            .args(["--format", "json"])
            .env("DATABASE_URL", &stack.db.url)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "report {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    let record = report(&["event", &treaty[0].0])?.to_string();
    assert!(
        record.contains("057")
            && record.contains("seed.example")
            && record.contains("wire.example"),
        "{record}"
    );
    let dyads = report(&[
        "dyads",
        "--from",
        "2024-06-19",
        "--to",
        "2024-06-19",
        "--actor",
        "RUS",
    ])?
    .to_string();
    assert!(dyads.contains("PRK"), "{dyads}");
    // Root 05 on the treaty day: the signing (one event) and Putin defending North Korea.
    let daily: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(events), 0)::bigint FROM report_events_daily WHERE day = '2024-06-19' AND root_code = 5",
    )
    .fetch_one(pool)
    .await?;
    assert!(
        daily >= 2,
        "report_events_daily has {daily} root-05 events on the treaty day"
    );

    // Replaying news.articles from the start changes nothing.
    let before: Vec<(String, i32, i32)> =
        sqlx::query_as("SELECT event_id, num_mentions, num_articles FROM events ORDER BY event_id")
            .fetch_all(pool)
            .await?;
    assert_eq!(extract.terminate(Duration::from_secs(30))?, Some(0));
    sqlx::query("DELETE FROM consumer_offsets WHERE consumer_group = $1")
        .bind(format!("{}-extract", stack.run))
        .execute(pool)
        .await?;
    let replay = stack.run.clone() + "-replay";
    let mut extract = stack.start(
        Path::new(EXTRACT),
        "extract",
        "0",
        &[("NEWSFLOW_GROUP", replay.clone())],
    )?;
    eventually(Duration::from_secs(120), || async {
        Ok(stack.db.count(&format!(
            "SELECT coalesce(sum(next_offset), 0)::bigint FROM consumer_offsets WHERE consumer_group = '{replay}'"
        )).await? >= forwarded.len() as i64)
    }).await?;
    let after: Vec<(String, i32, i32)> =
        sqlx::query_as("SELECT event_id, num_mentions, num_articles FROM events ORDER BY event_id")
            .fetch_all(pool)
            .await?;
    assert_eq!(before, after, "a replay changed the events");
    assert_eq!(extract.terminate(Duration::from_secs(30))?, Some(0));

    reextraction_keeps_versions_apart(&stack).await?;
    assert_eq!(dedup.terminate(Duration::from_secs(30))?, Some(0));
    stack.db.drop_db().await
}

/// Event counts of the reported version: (event id, mentions, articles, outlets).
type Counts = Vec<(String, i32, i32, i32)>;

/// A re-extraction with changed dictionaries (a new coder version, run as a second consumer
/// group as the runbook says) writes beside the reported version: the reports do not move
/// until the switch, the new version counts only its own mentions, articles keep their
/// stories; after the switch the reports show the new version.
async fn reextraction_keeps_versions_apart(stack: &Stack) -> anyhow::Result<()> {
    let pool = &stack.db.pool;
    let counts =
        "SELECT event_id, num_mentions, num_articles, num_sources FROM events ORDER BY event_id";
    let stories = "SELECT a.id, a.story_id, s.article_count, s.copy_count, s.source_count
                     FROM articles a LEFT JOIN stories s ON s.id = a.story_id ORDER BY a.id";
    type Placed = Vec<(i64, Option<i64>, Option<i32>, Option<i32>, Option<i32>)>;
    let old: String = sqlx::query_scalar("SELECT version FROM coder_versions WHERE reported")
        .fetch_one(pool)
        .await?;
    let reported: Counts = sqlx::query_as(counts).fetch_all(pool).await?;
    let placed: Placed = sqlx::query_as(stories).fetch_all(pool).await?;
    assert!(!reported.is_empty());

    // The same dictionaries with one comment more: a new version that codes the same events.
    let dir = std::env::temp_dir().join(newsflow_testkit::unique("dictionaries"));
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    for file in newsflow_core::coding::DATA_FILES {
        std::fs::create_dir_all(dir.join(file).parent().unwrap_or(&dir))?;
        std::fs::copy(data.join(file), dir.join(file))?;
    }
    let changed = dir.join("places/cities.tsv");
    let text = std::fs::read_to_string(&changed)? + "# re-extraction drill\n";
    std::fs::write(&changed, text)?;

    let group = format!("{}-v2", stack.run);
    let mut v2 = stack.start(
        Path::new(EXTRACT),
        "extract",
        "v2",
        &[
            ("NEWSFLOW_GROUP", group),
            ("NEWSFLOW_DICTIONARIES", dir.display().to_string()),
        ],
    )?;
    let new_version = || async {
        sqlx::query_scalar::<_, String>("SELECT version FROM coder_versions WHERE NOT reported")
            .fetch_optional(pool)
            .await
    };
    eventually(Duration::from_secs(180), || async {
        let Some(new) = new_version().await? else {
            return Ok(false);
        };
        let behind: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM articles WHERE duplicate_of IS NULL AND coder_version <> $1",
        )
        .bind(&new)
        .fetch_one(pool)
        .await?;
        Ok(behind == 0 && stack.db.count("SELECT count(*) FROM outbox").await? == 0)
    })
    .await?;
    let new = new_version().await?.unwrap_or_default();
    assert_ne!(new, old);
    assert_eq!(
        sqlx::query_as::<_, (String, i32, i32, i32)>(counts)
            .fetch_all(pool)
            .await?,
        reported,
        "the reports moved before the switch"
    );
    let own: Counts = sqlx::query_as(
        "SELECT event_id, num_mentions, num_articles, num_sources FROM event_versions
          WHERE coder_version = $1 ORDER BY event_id",
    )
    .bind(&new)
    .fetch_all(pool)
    .await?;
    assert_eq!(
        own, reported,
        "the new version counts its own mentions only"
    );
    let replaced: Placed = sqlx::query_as(stories).fetch_all(pool).await?;
    assert_eq!(
        replaced, placed,
        "a re-extraction moved articles between stories"
    );

    // The switch (docs/runbook.md): one transaction, then every report shows the new version.
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE coder_versions SET reported = false WHERE reported")
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE coder_versions SET reported = true WHERE version = $1")
        .bind(&new)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let shown: Vec<String> = sqlx::query_scalar("SELECT DISTINCT coder_version FROM events")
        .fetch_all(pool)
        .await?;
    assert_eq!(shown, vec![new.clone()]);
    assert_eq!(
        sqlx::query_as::<_, (String, i32, i32, i32)>(counts)
            .fetch_all(pool)
            .await?,
        reported
    );
    assert_eq!(
        stack
            .db
            .count("SELECT count(*) FROM report_event_mentions WHERE mention_id IS NOT NULL")
            .await?,
        stack
            .db
            .count(&format!(
                "SELECT count(*) FROM event_mention_versions WHERE coder_version = '{old}'"
            ))
            .await?,
        "the new version's mentions replace the old ones one for one"
    );
    assert_eq!(v2.terminate(Duration::from_secs(30))?, Some(0));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_stream_loses_and_duplicates_no_mention() -> anyhow::Result<()> {
    let stack = Stack::new().await?;
    let mut inputs = seed_articles()?;
    inputs.extend(synthetic(600));
    produce(stack.topic("raw"), &inputs).await?;
    let mut dedup = stack.start(&dedup_bin(), "dedup", "0", &[])?;
    let small = [("NEWSFLOW_BATCH_SIZE", "20".to_owned())];
    for stop_at in [100, 300] {
        let mut extract = stack.start(Path::new(EXTRACT), "extract", "0", &small)?;
        eventually(Duration::from_secs(180), || async {
            Ok(stack
                .db
                .count("SELECT count(*) FROM articles WHERE extracted_at IS NOT NULL")
                .await?
                >= stop_at)
        })
        .await?;
        extract.kill()?;
    }
    let mut extract = stack.start(Path::new(EXTRACT), "extract", "0", &small)?;
    stack.wait_extracted(inputs.len() as i64).await?;

    let forwarded = forwarded_originals(&stack).await?;
    let expected = expected_mentions(&forwarded)?;
    assert_eq!(
        stack
            .db
            .count("SELECT count(*) FROM event_mentions WHERE NOT is_copy")
            .await?,
        expected as i64
    );
    let bad_counts = stack.db.count(common::INCONSISTENT_EVENTS).await?;
    assert_eq!(bad_counts, 0, "event counts disagree with their mentions");
    // Stories grew over many 20-article batches, each join rewriting only the postings that
    // moved, and two kills rolled batches back: the postings must still be the vectors'.
    let stories = common::check_story_postings(&stack.db).await?;
    let joined = stack
        .db
        .count("SELECT count(*) FROM stories WHERE article_count > 1")
        .await?;
    assert!(
        stories > 100 && joined > 20,
        "{stories} stories, {joined} with more than one original: too few joins to test postings"
    );
    let total_events = stack.db.count("SELECT count(*) FROM events").await?;
    let published = read_topic(
        stack.topic("events"),
        total_events as usize,
        Duration::from_secs(60),
    )?;
    let keys: HashSet<Vec<u8>> = published
        .iter()
        .filter_map(|m| m.key().map(<[u8]>::to_vec))
        .collect();
    assert_eq!(
        keys.len() as i64,
        total_events,
        "every event id reached news.events"
    );

    assert_eq!(extract.terminate(Duration::from_secs(30))?, Some(0));
    assert_eq!(dedup.terminate(Duration::from_secs(30))?, Some(0));
    stack.db.drop_db().await
}

/// Every stored original read back from `news.articles`, checked to be there exactly once.
async fn forwarded_originals(stack: &Stack) -> anyhow::Result<Vec<rdkafka::message::OwnedMessage>> {
    let originals = stack
        .db
        .count("SELECT count(*) FROM articles WHERE duplicate_of IS NULL")
        .await? as usize;
    let forwarded = read_topic(stack.topic("articles"), originals, Duration::from_secs(60))?;
    assert_eq!(
        forwarded.len(),
        originals,
        "every original on news.articles once"
    );
    Ok(forwarded)
}
