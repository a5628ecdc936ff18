//! The committed report fixture (`tests/common/fixture.sql`) is still what the real pipeline
//! makes of the known corpus (`tests/data/corpus.jsonl`): the corpus goes through the broker,
//! `newsflow-dedup` and `newsflow-extract` (processes, as scripts/report-fixture.sh runs them),
//! the result is normalised the same way, and every report view and the tables they read must
//! hold the fixture's rows. When the pipeline's output changes, rerun the script.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{BIN, fixture_db};
use newsflow_testkit::{
    Service, TestDb, eventually, kafka_args, logs, produce, topic_names, unique,
};

const CORPUS: &str = include_str!("data/corpus.jsonl");
const NORMALISE: &str = include_str!("common/normalise.sql");

/// What is compared: the report views, then the tables and views they read.
const RELATIONS: [&str; 12] = [
    "report_events_daily",
    "report_dyads_daily",
    "report_actor_activity",
    "report_stories",
    "report_event_mentions",
    "report_duplicates_daily",
    "report_dlq_daily",
    "events",
    "event_mentions",
    "stories",
    "articles",
    "rejected_messages",
];

/// A service binary built by the same workspace build as this test's binary.
fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let path = Path::new(BIN).with_file_name(name);
    anyhow::ensure!(
        path.is_file(),
        "{} is missing: build the workspace's binaries first (cargo build --workspace --bins; \
         scripts/test.sh and a workspace-wide `cargo nextest run` do)",
        path.display()
    );
    Ok(path)
}

/// Every row of `relation` as JSON text, sorted; `coder_version` (a hash of the dictionary
/// files, which a comment changes) left out, and so are a story's term vector and postings
/// day (`terms`, `terms_day`: extract's lookup state, like `story_terms`, which no report
/// reads and the fixture does not hold).
async fn rows(db: &TestDb, relation: &str) -> anyhow::Result<BTreeSet<String>> {
    let rows: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT (to_jsonb(r) - 'coder_version' - 'terms' - 'terms_day')::text FROM {relation} r"
    ))
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fixture_is_what_the_pipeline_makes_of_the_corpus() -> anyhow::Result<()> {
    let dedup_bin = sibling("newsflow-dedup")?;
    let extract_bin = sibling("newsflow-extract")?;
    let db = TestDb::new().await?;
    // One partition per topic and one replica per service, as the script runs them: the
    // corpus is processed in line order, so ids, originals and stories are reproducible.
    let topics = topic_names(&["raw", "articles", "duplicates", "dlq", "events"]);
    let list: Vec<(&str, i32)> = topics.values().map(|t| (t.as_str(), 1)).collect();
    newsflow_runtime::kafka::ensure_topics(&kafka_args(), &list).await?;
    let inputs: Vec<Vec<u8>> = CORPUS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.as_bytes().to_vec())
        .collect();
    produce(&topics["raw"], &inputs).await?;

    let run = unique("reportfixture");
    let env = |service: &str| -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", db.url.clone()),
            ("NEWSFLOW_INPUT_TOPIC", topics["raw"].clone()),
            ("NEWSFLOW_OUTPUT_TOPIC", topics["articles"].clone()),
            ("NEWSFLOW_ARTICLES_TOPIC", topics["articles"].clone()),
            ("NEWSFLOW_DUPLICATES_TOPIC", topics["duplicates"].clone()),
            ("NEWSFLOW_DLQ_TOPIC", topics["dlq"].clone()),
            ("NEWSFLOW_EVENTS_TOPIC", topics["events"].clone()),
            ("NEWSFLOW_GROUP", format!("{run}-{service}")),
            ("NEWSFLOW_INSTANCE_ID", format!("{service}-0")),
        ]
    };
    let mut dedup = Service::start(&dedup_bin, &["run"], &env("dedup"))?;
    let mut extract = Service::start(&extract_bin, &["run"], &env("extract"))?;
    dedup.wait_ready(Duration::from_secs(60))?;
    extract.wait_ready(Duration::from_secs(60))?;

    // Every input an article or a rejected message, every original extracted, one message
    // per article consumed by extract (originals and copy notices), the outbox drained.
    let done = format!(
        "SELECT (SELECT count(*) FROM articles) + (SELECT count(*) FROM rejected_messages
                                                     WHERE src_topic = '{raw}') = {n}
             AND NOT EXISTS (SELECT 1 FROM articles WHERE duplicate_of IS NULL AND extracted_at IS NULL)
             AND NOT EXISTS (SELECT 1 FROM outbox)
             AND (SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets
                   WHERE consumer_group = '{run}-extract') >= (SELECT count(*) FROM articles)",
        raw = topics["raw"],
        n = inputs.len(),
    );
    let waited = eventually(Duration::from_secs(180), || async {
        Ok(sqlx::query_scalar::<_, bool>(&done)
            .fetch_one(&db.pool)
            .await?)
    })
    .await;
    if let Err(e) = waited {
        anyhow::bail!(
            "{e}: the corpus did not get through the pipeline{}",
            logs(&[("dedup", &dedup), ("extract", &extract)])
        );
    }
    assert_eq!(dedup.terminate(Duration::from_secs(30))?, Some(0));
    assert_eq!(extract.terminate(Duration::from_secs(30))?, Some(0));

    sqlx::raw_sql(NORMALISE).execute(&db.pool).await?;
    let fixture = fixture_db().await?;
    let mut drift = Vec::new();
    for relation in RELATIONS {
        let fresh = rows(&db, relation).await?;
        let committed = rows(&fixture, relation).await?;
        if fresh != committed {
            let cut = |s: &String| s.chars().take(600).collect::<String>();
            drift.push(format!(
                "{relation}: {} rows from the pipeline, {} in the fixture\n  only from the pipeline:\n    {}\n  only in the fixture:\n    {}",
                fresh.len(),
                committed.len(),
                fresh.difference(&committed).map(cut).collect::<Vec<_>>().join("\n    "),
                committed.difference(&fresh).map(cut).collect::<Vec<_>>().join("\n    "),
            ));
        }
    }
    db.drop_db().await?;
    fixture.drop_db().await?;
    anyhow::ensure!(
        drift.is_empty(),
        "services/report/tests/common/fixture.sql no longer matches what the pipeline makes of \
         tests/data/corpus.jsonl: rerun scripts/report-fixture.sh, review the diff and update \
         the report tests' expectations.\n{}",
        drift.join("\n")
    );
    Ok(())
}
