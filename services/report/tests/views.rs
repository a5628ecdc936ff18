//! The `report_*` views return the expected rows for the known fixture, and the roles do
//! what they promise: the analyst reads and cannot write, the writer writes and cannot run DDL.

// Rows are compared as tuples of the views' columns, which reads better than a struct per view.
#![allow(clippy::type_complexity)]

mod common;

use chrono::NaiveDate;
use common::{CRITICISM, TALKS, TREATY, VISIT, fixture_db};
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
         FROM report_events_daily ORDER BY day, root_code",
    )
    .fetch_all(&db.pool)
    .await?;
    let expected = vec![
        (day("2024-05-30"), 19, 4, Some("PRK".into()), 1, 1, 1, -10.0),
        (day("2024-06-19"), 4, 1, Some("PRK".into()), 1, 2, 2, 1.9),
        (day("2024-06-19"), 5, 1, Some("PRK".into()), 1, 3, 2, 8.0),
        (day("2024-06-20"), 4, 1, Some("KOR".into()), 1, 1, 1, 1.0),
        (day("2024-06-20"), 11, 3, Some("KOR".into()), 1, 1, 1, -2.0),
        // No place: the source's country.
        (day("2024-06-21"), 16, 4, Some("USA".into()), 1, 1, 1, -8.0),
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
    // The artillery fire has no target and is not a dyad.
    let expected = vec![
        (
            day("2024-06-19"),
            "RUSGOV".into(),
            "PRKGOV".into(),
            2,
            5,
            4.95,
            2,
            0,
        ),
        (
            day("2024-06-20"),
            "KORGOV".into(),
            "RUSGOV".into(),
            1,
            1,
            -2.0,
            0,
            1,
        ),
        (
            day("2024-06-20"),
            "USAGOV".into(),
            "KORGOV".into(),
            1,
            1,
            1.0,
            1,
            0,
        ),
        (
            day("2024-06-21"),
            "USAGOV".into(),
            "PRKGOV".into(),
            1,
            1,
            -8.0,
            0,
            1,
        ),
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
         FROM report_actor_activity WHERE day BETWEEN '2024-06-19' AND '2024-06-21' \
         GROUP BY actor_code ORDER BY actor_code",
    )
    .fetch_all(&db.pool)
    .await?;
    let expected = vec![
        ("KORGOV".into(), 2, 1, 1, 2),
        ("PRKGOV".into(), 3, 0, 3, 6),
        ("RUSGOV".into(), 3, 2, 1, 6),
        ("USAGOV".into(), 2, 2, 0, 2),
    ];
    assert_eq!(rows, expected);
    let prkmil: i64 = sqlx::query_scalar(
        "SELECT events FROM report_actor_activity WHERE actor_code = 'PRKMIL' AND day = '2024-05-30'",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(prkmil, 1);
    db.drop_db().await
}

#[tokio::test]
async fn stories_view_lists_articles_outlets_and_events() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let rows: Vec<(i64, i64, Vec<String>, Vec<String>, i64, Vec<String>)> = sqlx::query_as(
        "SELECT story_id, articles, outlets, urls, events, event_ids FROM report_stories ORDER BY story_id",
    )
    .fetch_all(&db.pool)
    .await?;
    assert_eq!(rows.len(), 2);
    let (id, articles, outlets, urls, events, event_ids) = &rows[0];
    assert_eq!(*id, 1);
    assert_eq!(*articles, 3);
    assert_eq!(outlets, &["apnews.com", "reuters.com", "yahoo.com"]);
    assert_eq!(
        urls[0],
        "https://apnews.com/article/russia-north-korea-treaty"
    );
    assert_eq!(*events, 2);
    let mut expected = vec![TREATY.to_owned(), VISIT.to_owned()];
    expected.sort();
    assert_eq!(event_ids, &expected);
    let (id, articles, outlets, _, events, event_ids) = &rows[1];
    assert_eq!((*id, *articles, *events), (2, 2, 4));
    assert_eq!(outlets, &["reuters.com"]);
    assert!(event_ids.contains(&TALKS.to_owned()) && event_ids.contains(&CRITICISM.to_owned()));
    db.drop_db().await
}

#[tokio::test]
async fn event_mentions_view_has_every_mention_sentence_and_url() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let rows: Vec<(
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<bool>,
    )> = sqlx::query_as(
        "SELECT source_code, target_code, cameo_code, outlet, url, sentence, is_copy \
             FROM report_event_mentions WHERE event_id = $1 ORDER BY mentioned_at, sentence_no",
    )
    .bind(TREATY)
    .fetch_all(&db.pool)
    .await?;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.0 == "RUSGOV" && r.1 == "PRKGOV" && r.2 == "057")
    );
    let outlets: Vec<_> = rows
        .iter()
        .map(|r| r.3.clone().unwrap_or_default())
        .collect();
    assert_eq!(outlets, ["apnews.com", "apnews.com", "reuters.com"]);
    assert_eq!(
        rows[2].4.as_deref(),
        Some("https://www.reuters.com/world/putin-kim-treaty")
    );
    assert_eq!(
        rows[0].5.as_deref(),
        Some("Putin and Kim sign mutual defense treaty")
    );
    // The syndicated copy's mention is there, flagged.
    let copies: Vec<(Option<String>, Option<bool>)> = sqlx::query_as(
        "SELECT outlet, is_copy FROM report_event_mentions WHERE event_id = $1 ORDER BY mentioned_at",
    )
    .bind(VISIT)
    .fetch_all(&db.pool)
    .await?;
    assert_eq!(
        copies,
        vec![
            (Some("apnews.com".into()), Some(false)),
            (Some("yahoo.com".into()), Some(true))
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
    assert_eq!(
        dups,
        vec![
            (day("2024-06-19"), "near_duplicate".into(), 1, Some(0.92)),
            (day("2024-06-19"), "original".into(), 2, None),
            (day("2024-06-20"), "exact_url".into(), 1, Some(1.0)),
            (day("2024-06-20"), "original".into(), 1, None),
        ]
    );
    let dlq: Vec<(NaiveDate, String, i64, i64)> = sqlx::query_as(
        "SELECT day, error_class, messages, payload_bytes FROM report_dlq_daily ORDER BY day, error_class",
    )
    .fetch_all(&db.pool)
    .await?;
    assert_eq!(
        dlq,
        vec![
            (day("2024-06-19"), "invalid_json".into(), 2, 57),
            (day("2024-06-20"), "no_text".into(), 1, 120),
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
    assert_eq!(events, 6, "nothing changed");
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
    assert_eq!(n, 6);
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
