//! The `report_*` views return the expected rows for the known fixture (what the real
//! pipeline makes of `tests/data/corpus.jsonl`), and the roles do what they promise: the
//! analyst reads and cannot write, the writer writes and cannot run DDL.

// Rows are compared as tuples of the views' columns, which reads better than a struct per view.
#![allow(clippy::type_complexity)]

mod common;

use chrono::NaiveDate;
use common::{
    AID, ARTILLERY, CRITICISM, DEFENDED, MILITARY_SAYS, SANCTIONS, TALKS, TREATY, fixture_db,
};
use newsflow_testkit::TestDb;
use sqlx::{Connection, PgConnection};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

#[tokio::test]
async fn events_daily_view_counts_per_day_root_code_quad_class_and_country() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let rows: Vec<(NaiveDate, i16, i16, Option<String>, i64, i64, i64, f64)> = sqlx::query_as(
        "SELECT day, root_code, quad_class, country, events, mentions, articles, mean_goldstein \
         FROM report_events_daily ORDER BY day, root_code, country",
    )
    .fetch_all(&db.pool)
    .await?;
    let kor = || Some("KOR".to_owned());
    // Events the seed sample reports (dated by the text: "in February of 2022", "last month",
    // "on Tuesday") count twice, once in the seed and once in its syndicated copy. The country
    // is where it happened (the seed's "SEOUL" dateline), else the source's.
    let expected = vec![
        (day("2022-02-01"), 19, 4, kor(), 1, 2, 2, -10.0),
        (day("2023-07-01"), 4, 1, Some("UKR".into()), 1, 2, 2, 1.9),
        // China, Japan and South Korea's summit: three symmetric pairs.
        (day("2024-05-01"), 4, 1, kor(), 3, 6, 6, 1.0),
        // The artillery fire, located in North Korea only.
        (day("2024-05-30"), 19, 4, Some("PRK".into()), 1, 1, 1, -10.0),
        (day("2024-06-18"), 1, 1, Some("USA".into()), 1, 2, 2, 0.0),
        (day("2024-06-18"), 4, 1, kor(), 1, 2, 2, 1.0),
        (day("2024-06-18"), 4, 1, Some("USA".into()), 1, 2, 2, 1.0),
        (day("2024-06-19"), 1, 1, kor(), 3, 6, 6, 0.0),
        (day("2024-06-19"), 1, 1, Some("UKR".into()), 1, 2, 2, 0.0),
        (day("2024-06-19"), 3, 1, kor(), 1, 2, 2, 4.0),
        // The treaty (8.0, 6 mentions in 2 articles) and Putin defending North Korea (3.5).
        (day("2024-06-19"), 5, 1, kor(), 2, 8, 4, 5.75),
        (day("2024-06-19"), 11, 3, kor(), 2, 4, 4, -2.0),
        (day("2024-06-20"), 1, 1, Some("PRK".into()), 1, 1, 1, 0.0),
        // Blinken's talks: headline and lead of one article.
        (day("2024-06-20"), 4, 1, kor(), 1, 2, 1, 1.0),
        (day("2024-06-20"), 11, 3, kor(), 1, 1, 1, -2.0),
        // The sanctions: headline and lead, in the AP report and its exact re-post.
        (day("2024-06-21"), 16, 4, Some("USA".into()), 1, 4, 2, -8.0),
        (day("2024-06-22"), 7, 2, Some("JPN".into()), 1, 1, 1, 7.4),
    ];
    assert_eq!(rows, expected);
    db.drop_db().await
}

#[tokio::test]
async fn dyads_daily_view_has_counts_and_mean_goldstein() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let rows: Vec<(NaiveDate, String, String, i64, i64, f64, i64, i64)> = sqlx::query_as(
        "SELECT day, source_code, target_code, events, mentions, mean_goldstein, \
                cooperative_events, conflictual_events \
         FROM report_dyads_daily ORDER BY day, source_code, target_code",
    )
    .fetch_all(&db.pool)
    .await?;
    let dyad = |d: &str, s: &str, t: &str, mentions: i64, goldstein: f64, coop: i64| {
        (
            day(d),
            s.to_owned(),
            t.to_owned(),
            1,
            mentions,
            goldstein,
            coop,
            1 - coop,
        )
    };
    // Events without a target (statements, the artillery fire) are not dyads. Symmetric acts
    // (talks, summits, the signing) are stored in canonical order: PRK before RUS, KOR before USA.
    let expected = vec![
        dyad("2022-02-01", "RUS", "UKR", 2, -10.0, 0),
        dyad("2023-07-01", "KORGOV", "UKR", 2, 1.9, 1),
        dyad("2024-05-01", "CHNGOV", "JPNGOV", 2, 1.0, 1),
        dyad("2024-05-01", "CHNGOV", "KORGOV", 2, 1.0, 1),
        dyad("2024-05-01", "JPNGOV", "KORGOV", 2, 1.0, 1),
        dyad("2024-06-18", "CHN", "KOR", 2, 1.0, 1),
        dyad("2024-06-18", "IGOWSTNAT", "USAGOV", 2, 1.0, 1),
        dyad("2024-06-19", "PRKGOV", "RUSGOV", 6, 8.0, 1),
        dyad("2024-06-19", "RUSGOV", "PRK", 2, 3.5, 1),
        dyad("2024-06-19", "RUSGOV", "USA", 2, -2.0, 0),
        dyad("2024-06-20", "KOR", "RUS", 1, -2.0, 0),
        dyad("2024-06-20", "KORGOV", "USAGOV", 2, 1.0, 1),
        dyad("2024-06-21", "USA", "PRK", 4, -8.0, 0),
        dyad("2024-06-22", "JPN", "PHL", 1, 7.4, 1),
    ];
    assert_eq!(rows, expected);
    db.drop_db().await
}

#[tokio::test]
async fn actor_activity_view_counts_each_side() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT actor_code, sum(events)::bigint, sum(as_source)::bigint, sum(as_target)::bigint, \
                sum(mentions)::bigint \
         FROM report_actor_activity WHERE day BETWEEN '2024-06-19' AND '2024-06-22' \
         GROUP BY actor_code ORDER BY actor_code",
    )
    .fetch_all(&db.pool)
    .await?;
    let expected = vec![
        ("IGOWSTNAT".into(), 1, 1, 0, 2),
        ("JPN".into(), 1, 1, 0, 1),
        ("KOR".into(), 1, 1, 0, 1),
        ("KORGOV".into(), 2, 2, 0, 4),
        ("KORMIL".into(), 1, 1, 0, 1),
        ("PHL".into(), 1, 0, 1, 1),
        ("PRK".into(), 2, 0, 2, 6),
        ("PRKGOV".into(), 1, 1, 0, 6),
        ("RUS".into(), 1, 0, 1, 1),
        // Four statements, the criticism of the US, the defence of North Korea, the treaty.
        ("RUSGOV".into(), 6, 5, 1, 16),
        ("USA".into(), 3, 2, 1, 8),
        ("USAGOV".into(), 1, 0, 1, 2),
    ];
    assert_eq!(rows, expected);
    let prkmil: (i64, i64) = sqlx::query_as(
        "SELECT events, mentions FROM report_actor_activity WHERE actor_code = 'PRKMIL' AND day = '2024-05-30'",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(prkmil, (1, 1));
    db.drop_db().await
}

#[tokio::test]
async fn stories_view_lists_articles_outlets_and_events() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let rows: Vec<(
        i64,
        i32,
        i32,
        i64,
        Vec<String>,
        Vec<String>,
        i64,
        Vec<String>,
    )> = sqlx::query_as(
        "SELECT story_id, article_count, copy_count, articles, outlets, urls, events, event_ids \
             FROM report_stories ORDER BY story_id",
    )
    .fetch_all(&db.pool)
    .await?;
    assert_eq!(rows.len(), 5);
    // The seed sample and its syndicated copy: one story, every event of the seed.
    let (id, originals, copies, articles, outlets, urls, events, event_ids) = &rows[0];
    assert_eq!((*id, *originals, *copies, *articles), (1, 1, 1, 2));
    assert_eq!(outlets, &["seed.example", "wire.example"]);
    assert_eq!(
        urls,
        &[
            "https://seed.example/world/seed",
            "https://wire.example/world/seed-copy"
        ]
    );
    assert_eq!(*events, 17);
    assert!(event_ids.contains(&TREATY.to_owned()) && event_ids.contains(&DEFENDED.to_owned()));
    // The short reports: one story each, with the events they report.
    let short: Vec<(i64, i64, Vec<String>, i64, Vec<String>)> = rows[1..]
        .iter()
        .map(|(id, _, _, articles, outlets, _, events, ids)| {
            (*id, *articles, outlets.clone(), *events, ids.clone())
        })
        .collect();
    let ids = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        short,
        vec![
            (2, 1, ids(&["reuters.example"]), 2, ids(&[TALKS, CRITICISM])),
            (
                3,
                1,
                ids(&["yonhap.example"]),
                2,
                ids(&[MILITARY_SAYS, ARTILLERY])
            ),
            // The AP report and its exact re-post.
            (4, 2, ids(&["apnews.example"]), 1, ids(&[SANCTIONS])),
            (5, 1, ids(&["kyodo.example"]), 1, ids(&[AID])),
        ]
    );
    let (_, originals, copies, ..) = &rows[3];
    assert_eq!((*originals, *copies), (1, 1));
    db.drop_db().await
}

#[tokio::test]
async fn event_mentions_view_has_every_mention_sentence_and_url() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let rows: Vec<(
        String,
        String,
        String,
        i32,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<bool>,
    )> = sqlx::query_as(
        "SELECT source_code, target_code, cameo_code, sentence_no, outlet, url, sentence, is_copy \
             FROM report_event_mentions WHERE event_id = $1 ORDER BY mentioned_at, sentence_no",
    )
    .bind(TREATY)
    .fetch_all(&db.pool)
    .await?;
    // Three reports of the signing in the seed sample, each carried over to its copy.
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.0 == "PRKGOV" && r.1 == "RUSGOV" && r.2 == "057")
    );
    let reports: Vec<(i32, &str, bool)> = rows
        .iter()
        .map(|r| {
            (
                r.3,
                r.4.as_deref().unwrap_or_default(),
                r.7.unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        reports,
        [
            (12, "seed.example", false),
            (46, "seed.example", false),
            (48, "seed.example", false),
            (12, "wire.example", true),
            (46, "wire.example", true),
            (48, "wire.example", true),
        ]
    );
    assert_eq!(
        rows[0].5.as_deref(),
        Some("https://seed.example/world/seed")
    );
    assert_eq!(
        rows[3].5.as_deref(),
        Some("https://wire.example/world/seed-copy")
    );
    assert_eq!(
        rows[0].6.as_deref(),
        Some("The comprehensive strategic partnership treaty was signed by Putin and Kim.")
    );
    assert!(
        rows[1]
            .6
            .as_deref()
            .is_some_and(|s| s.starts_with("Russia and North Korea signed a new treaty"))
    );
    // The exact re-post's mentions are there, flagged, from the same outlet.
    let copies: Vec<(i64, i32, bool, Option<String>, Option<bool>)> = sqlx::query_as(
        "SELECT article_id, sentence_no, in_title, outlet, is_copy FROM report_event_mentions \
         WHERE event_id = $1 ORDER BY mention_id",
    )
    .bind(SANCTIONS)
    .fetch_all(&db.pool)
    .await?;
    let ap = || Some("apnews.example".to_owned());
    assert_eq!(
        copies,
        vec![
            (5, 0, true, ap(), Some(false)),
            (5, 1, false, ap(), Some(false)),
            (7, 0, true, ap(), Some(true)),
            (7, 1, false, ap(), Some(true)),
        ]
    );
    db.drop_db().await
}

#[tokio::test]
async fn duplicate_and_dlq_views_count_per_day_and_kind() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let dups: Vec<(NaiveDate, String, i64, Option<f64>)> = sqlx::query_as(
        "SELECT day, duplicate_kind, articles, mean_similarity FROM report_duplicates_daily ORDER BY day, duplicate_kind",
    )
    .fetch_all(&db.pool)
    .await?;
    // Ingestion days are the articles' publication days (the fixture's normalisation).
    assert_eq!(
        dups,
        vec![
            (day("2024-06-19"), "near_duplicate".into(), 1, Some(0.994)),
            (day("2024-06-19"), "original".into(), 1, None),
            (day("2024-06-20"), "original".into(), 2, None),
            (day("2024-06-21"), "exact_url".into(), 1, Some(1.0)),
            (day("2024-06-21"), "original".into(), 1, None),
            (day("2024-06-22"), "original".into(), 1, None),
        ]
    );
    let dlq: Vec<(NaiveDate, String, i64, i64, String)> = sqlx::query_as(
        "SELECT day, error_class, messages, payload_bytes, sample_reason FROM report_dlq_daily ORDER BY day, error_class",
    )
    .fetch_all(&db.pool)
    .await?;
    // A truncated upload (86 bytes) and an article without text (209 bytes), rejected on the
    // fixture's fixed rejection day.
    assert_eq!(
        dlq,
        vec![
            (
                day("2024-06-23"),
                "invalid_json".into(),
                1,
                86,
                "EOF while parsing a string at line 1 column 86".into()
            ),
            (
                day("2024-06-23"),
                "no_text".into(),
                1,
                209,
                "no text in maintext/body/text/content/html or description".into()
            ),
        ]
    );
    db.drop_db().await
}

async fn as_role(db: &TestDb, role: &str) -> anyhow::Result<PgConnection> {
    let mut conn = PgConnection::connect(&db.url).await?;
    sqlx::query(&format!("SET ROLE {role}"))
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

fn sql_state(err: &sqlx::Error) -> Option<String> {
    err.as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
}

#[tokio::test]
async fn analyst_reads_tables_and_views_and_cannot_write() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let mut conn = as_role(&db, "newsflow_analyst").await?;
    for view in [
        "report_events_daily",
        "report_dyads_daily",
        "report_actor_activity",
        "report_stories",
        "report_event_mentions",
        "report_duplicates_daily",
        "report_dlq_daily",
        "events",
        "event_mentions",
        "articles",
        "stories",
        "rejected_messages",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {view}"))
            .fetch_one(&mut conn)
            .await?;
        assert!(n > 0, "{view} is empty for the analyst");
    }
    for statement in [
        "INSERT INTO rejected_messages (error_class, reason, payload_bytes, src_topic, src_partition, src_offset) VALUES ('x', 'y', 1, 't', 0, 99)",
        "UPDATE events SET goldstein = 0",
        "DELETE FROM event_mentions",
        "TRUNCATE articles CASCADE",
        "CREATE TABLE analyst_scratch (x int)",
        "DROP VIEW report_dlq_daily",
        "CREATE OR REPLACE VIEW report_dlq_daily AS SELECT 1 AS x",
    ] {
        let err = sqlx::query(statement).execute(&mut conn).await.err();
        let state = err.as_ref().and_then(sql_state);
        // 42501 insufficient_privilege; 42809/42P16 would mean the statement got further.
        assert_eq!(state.as_deref(), Some("42501"), "{statement}: {err:?}");
        assert!(
            err.map(|e| e.to_string())
                .unwrap_or_default()
                .contains("permission denied")
                || statement.starts_with("CREATE OR REPLACE")
                || statement.starts_with("DROP"),
            "{statement}"
        );
    }
    conn.close().await?;
    let events: i64 = db.count("SELECT count(*) FROM events").await?;
    assert_eq!(events, 23, "nothing changed");
    db.drop_db().await
}

#[tokio::test]
async fn writer_writes_rows_but_runs_no_ddl() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let mut conn = as_role(&db, "newsflow_writer").await?;
    sqlx::query(
        "INSERT INTO rejected_messages (error_class, reason, payload_bytes, src_topic, src_partition, src_offset) \
         VALUES ('oversize', 'too big', 1, 't', 0, 99)",
    )
    .execute(&mut conn)
    .await?;
    // Sequences: an identity column and a serial-like default.
    sqlx::query("INSERT INTO outbox (topic, payload) VALUES ('news.events', '\\x00')")
        .execute(&mut conn)
        .await?;
    sqlx::query("UPDATE events SET num_mentions = num_mentions WHERE event_id = $1")
        .bind(TREATY)
        .execute(&mut conn)
        .await?;
    for statement in [
        "CREATE TABLE writer_scratch (x int)",
        "DROP TABLE outbox",
        "ALTER TABLE events ADD COLUMN x int",
    ] {
        let err = sqlx::query(statement).execute(&mut conn).await.err();
        assert_eq!(
            err.as_ref().and_then(sql_state).as_deref(),
            Some("42501"),
            "{statement}: {err:?}"
        );
    }
    conn.close().await?;
    db.drop_db().await
}

#[tokio::test]
async fn migrating_many_databases_at_once_tolerates_the_role_race() -> anyhow::Result<()> {
    let dbs = futures::future::join_all((0..4).map(|_| TestDb::new())).await;
    for db in dbs {
        let db = db?;
        let roles: i64 = db
            .count("SELECT count(*) FROM pg_roles WHERE rolname IN ('newsflow_analyst', 'newsflow_writer', 'newsflow_migrator') AND NOT rolcanlogin")
            .await?;
        assert_eq!(roles, 3);
        db.drop_db().await?;
    }
    Ok(())
}

#[tokio::test]
async fn tables_created_by_later_migrations_are_granted_too() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    // What a later migration does, as the role that runs migrations.
    sqlx::raw_sql(
        "CREATE TABLE later_table (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, x int); \
         CREATE VIEW later_view AS SELECT count(*) AS n FROM events;",
    )
    .execute(&db.pool)
    .await?;
    let mut analyst = as_role(&db, "newsflow_analyst").await?;
    let n: i64 = sqlx::query_scalar("SELECT n FROM later_view")
        .fetch_one(&mut analyst)
        .await?;
    assert_eq!(n, 23);
    sqlx::query("SELECT * FROM later_table")
        .execute(&mut analyst)
        .await?;
    let err = sqlx::query("INSERT INTO later_table (x) VALUES (1)")
        .execute(&mut analyst)
        .await
        .err();
    assert_eq!(err.as_ref().and_then(sql_state).as_deref(), Some("42501"));
    analyst.close().await?;
    let mut writer = as_role(&db, "newsflow_writer").await?;
    sqlx::query("INSERT INTO later_table (x) VALUES (1)")
        .execute(&mut writer)
        .await?;
    writer.close().await?;
    db.drop_db().await
}
