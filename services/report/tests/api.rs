//! The HTTP API against the known fixture (what the real pipeline makes of
//! `tests/data/corpus.jsonl`): the same rows as JSON, bounded and validated parameters (400
//! naming the parameter), SVG charts and the admin endpoints.

mod common;

use common::{Server, TREATY, fixture_db};

#[tokio::test]
async fn api_serves_the_reports_as_json() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let server = Server::start(&db.url)?;
    let range = "from=2024-06-19&to=2024-06-21";

    let daily = server.get_json(&format!("/api/events/daily?{range}"))?;
    assert_eq!(daily["filters"]["from"], "2024-06-19");
    assert_eq!(daily["rows"].as_array().map(Vec::len), Some(9));
    // The treaty and Putin defending North Korea: root 05 on the seed sample's day.
    assert_eq!(daily["rows"][3]["day"], "2024-06-19");
    assert_eq!(daily["rows"][3]["root_code"], 5);
    assert_eq!(daily["rows"][3]["events"], 2);
    assert_eq!(daily["rows"][3]["mentions"], 8);

    let dyads = server.get_json(&format!("/api/dyads?{range}&limit=2"))?;
    assert_eq!(dyads["rows"].as_array().map(Vec::len), Some(2));
    // The treaty: one event for both sides, in canonical order.
    assert_eq!(dyads["rows"][0]["source_code"], "PRKGOV");
    assert_eq!(dyads["rows"][0]["target_code"], "RUSGOV");
    assert_eq!(dyads["rows"][0]["events"], 1);
    assert_eq!(dyads["rows"][0]["mentions"], 6);
    assert_eq!(dyads["rows"][1]["source_code"], "USA");
    assert_eq!(dyads["rows"][1]["target_code"], "PRK");

    // Dyads over time: one row per dyad and day.
    let daily_dyads = server.get_json(&format!("/api/dyads/daily?{range}"))?;
    let days: Vec<String> = daily_dyads["rows"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    format!(
                        "{} {}>{} {}",
                        r["day"].as_str().unwrap_or(""),
                        r["source_code"].as_str().unwrap_or(""),
                        r["target_code"].as_str().unwrap_or(""),
                        r["events"]
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        days,
        [
            "2024-06-19 PRKGOV>RUSGOV 1",
            "2024-06-19 RUSGOV>PRK 1",
            "2024-06-19 RUSGOV>USA 1",
            "2024-06-20 KORGOV>USAGOV 1",
            "2024-06-20 KOR>RUS 1",
            "2024-06-21 USA>PRK 1"
        ]
    );
    assert_eq!(daily_dyads["rows"][0]["mean_goldstein"], 8.0);
    assert_eq!(daily_dyads["rows"][0]["mentions"], 6);
    assert_eq!(daily_dyads["rows"][2]["conflictual_events"], 1);
    let rus = server.get_json(&format!("/api/dyads/daily?{range}&actor=RUS&limit=1"))?;
    assert_eq!(rus["rows"].as_array().map(Vec::len), Some(1));
    assert_eq!(rus["rows"][0]["day"], "2024-06-19");

    let actors = server.get_json(&format!("/api/actors?{range}&country=KOR"))?;
    let codes: Vec<&str> = actors["rows"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["actor_code"].as_str()).collect())
        .unwrap_or_default();
    // Events with a South Korean actor or place (the seed's Seoul dateline places most of
    // them), most active first.
    assert_eq!(
        codes,
        [
            "RUSGOV",
            "KORGOV",
            "USA",
            "PRKGOV",
            "IGOWSTNAT",
            "PRK",
            "USAGOV",
            "KOR",
            "KORMIL",
            "RUS"
        ]
    );

    let events = server.get_json(&format!("/api/events?{range}&code=057"))?;
    assert_eq!(events["rows"][0]["event_id"], TREATY);

    let event = server.get_json(&format!("/api/events/{TREATY}"))?;
    assert_eq!(event["event"]["cameo_code"], "057");
    assert_eq!(event["mentions"].as_array().map(Vec::len), Some(6));

    let stories = server.get_json(&format!("/api/stories?{range}&story=1"))?;
    assert_eq!(stories["rows"][0]["articles"], 2);
    assert_eq!(stories["rows"][0]["outlets"][1], "wire.example");

    let dups = server.get_json(&format!("/api/duplicates?{range}"))?;
    assert_eq!(dups["rows"].as_array().map(Vec::len), Some(5));
    // Nothing was rejected in the range; both rejections are on the fixture's rejection day.
    let dlq = server.get_json(&format!("/api/dlq?{range}"))?;
    assert_eq!(dlq["rows"], serde_json::json!([]));
    let dlq = server.get_json("/api/dlq?from=2024-06-19&to=2024-06-23")?;
    assert_eq!(dlq["rows"][0]["error_class"], "invalid_json");
    assert_eq!(dlq["rows"][0]["messages"], 1);
    assert_eq!(dlq["rows"][1]["error_class"], "no_text");

    // No dates: the 30 days up to the newest event (Japan's aid on 2024-06-22); the 2022,
    // 2023 and early-May events the seed sample mentions fall outside.
    let default = server.get_json("/api/events/daily")?;
    assert_eq!(default["filters"]["to"], "2024-06-22");
    assert_eq!(default["filters"]["from"], "2024-05-24");
    assert_eq!(default["rows"].as_array().map(Vec::len), Some(14));
    drop(server);
    db.drop_db().await
}

#[tokio::test]
async fn api_rejects_bad_parameters_with_400_naming_them() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let server = Server::start(&db.url)?;
    for (path, parameter) in [
        ("/api/events/daily?from=2024-02-30", "from"),
        ("/api/dyads?from=2024-01-01&to=2025-06-01", "to"),
        ("/api/dyads?from=2024-06-02&to=2024-06-01", "from"),
        ("/api/actors?limit=1001", "limit"),
        ("/api/actors?limit=-1", "limit"),
        ("/api/events?quad_class=0", "quad_class"),
        ("/api/events?code=abc", "code"),
        ("/api/events?country=NorthKorea", "country"),
        ("/api/events?actor=R%27%3B", "actor"),
        ("/api/stories?story=x", "story"),
        ("/api/stories?actor=RUS", "query"),
        ("/api/dlq?colour=red", "query"),
        ("/api/events/bad%20id", "id"),
        ("/charts/timeline.svg?to=someday", "to"),
        ("/api/dyads/daily?limit=5000", "limit"),
        ("/api/dyads/daily?from=2024-01-01&to=2025-06-01", "to"),
        // One extreme end: refused before the default range is computed from it.
        ("/api/events/daily?from=%2B262142-12-31", "from"),
        ("/api/dyads?to=%2B262143-12-31", "to"),
        ("/api/events?to=-262143-01-01", "to"),
        ("/api/stories?from=1899-12-31", "from"),
        ("/charts/timeline.svg?from=2201-01-01", "from"),
        ("/api/dyads/daily?from=%2B262142-12-31", "from"),
    ] {
        let (status, body) = server.get(path)?;
        assert_eq!(status, 400, "{path}: {body}");
        let error: serde_json::Value = serde_json::from_str(&body)?;
        assert_eq!(error["parameter"], parameter, "{path}: {body}");
        assert!(
            error["error"]
                .as_str()
                .is_some_and(|e| e.contains(parameter)),
            "{path}: {body}"
        );
    }
    let (status, _) = server.get("/api/events/00000000000000000000000000000000")?;
    assert_eq!(status, 404);
    let (status, _) = server.get("/charts/pie.svg")?;
    assert_eq!(status, 404);
    // The HTML page says what is wrong too, with the same status.
    let (status, body) = server.get("/?quad_class=9")?;
    assert_eq!(status, 400);
    assert!(body.contains("Invalid quad_class"), "{body}");
    let (status, body) = server.get("/?from=%2B262142-12-31")?;
    assert_eq!(status, 400);
    assert!(body.contains("Invalid from"), "{body}");
    // The server is still up after all of these.
    let (status, _) = server.get("/api/dlq")?;
    assert_eq!(status, 200);
    drop(server);
    db.drop_db().await
}

#[tokio::test]
async fn charts_and_admin_endpoints() -> anyhow::Result<()> {
    common::ensure_chromium_and_fonts()?;
    let db = fixture_db().await?;
    let server = Server::start(&db.url)?;
    for (name, needle) in [
        ("timeline", "Events per day by quad class"),
        ("dyads", "PRKGOV → RUSGOV"),
        ("actors", "PRKGOV"),
    ] {
        let (status, body) =
            server.get(&format!("/charts/{name}.svg?from=2024-06-15&to=2024-06-25"))?;
        assert_eq!(status, 200, "{name}: {body}");
        assert!(body.starts_with("<svg") && body.contains(needle), "{name}");
    }
    let admin = server.service.admin;
    let (status, body) = newsflow_testkit::http_get(admin, "/healthz")?;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, body) = newsflow_testkit::http_get(admin, "/readyz")?;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"database\":\"ok\""));
    let (status, body) = newsflow_testkit::http_get(admin, "/metrics")?;
    assert_eq!(status, 200);
    assert!(body.contains("report_http_requests_total"), "{body}");
    drop(server);
    db.drop_db().await
}

#[tokio::test]
async fn serve_stops_cleanly_on_sigterm() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let mut server = Server::start(&db.url)?;
    let code = server
        .service
        .terminate(std::time::Duration::from_secs(20))?;
    assert_eq!(code, Some(0), "log:\n{}", server.service.log_text());
    db.drop_db().await
}

#[tokio::test]
async fn serve_and_cli_work_as_an_analyst_login() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    // A deployment's login user for the report service: a member of newsflow_analyst.
    let user = newsflow_testkit::unique("report_analyst");
    sqlx::query(&format!(
        "CREATE ROLE {user} LOGIN IN ROLE newsflow_analyst"
    ))
    .execute(&db.pool)
    .await?;
    let url = db.url.replacen("postgres@", &format!("{user}@"), 1);
    anyhow::ensure!(
        url != db.url,
        "cannot derive a URL for {user} from {}",
        db.url
    );
    let result = async {
        let server = Server::start(&url)?;
        let dyads = server.get_json("/api/dyads?from=2024-06-19&to=2024-06-21")?;
        assert_eq!(dyads["rows"][0]["source_code"], "PRKGOV");
        let (status, _) = server.get("/?from=2024-06-19&to=2024-06-21")?;
        assert_eq!(status, 200);
        let out = common::run(&url, &["event", TREATY, "--format", "json"])?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The same login cannot write.
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await?;
        let err = sqlx::query("DELETE FROM events")
            .execute(&mut conn)
            .await
            .err();
        assert!(err.is_some_and(|e| e.to_string().contains("permission denied")));
        anyhow::Ok(())
    }
    .await;
    db.drop_db().await?;
    let admin = newsflow_testkit::admin_database_url();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await?;
    sqlx::query(&format!("DROP ROLE IF EXISTS {user}"))
        .execute(&mut conn)
        .await?;
    result
}

#[tokio::test]
async fn a_failing_query_answers_500_without_sql_details_and_logs_them() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let server = Server::start(&db.url)?;
    // Break one view under the running server (as a botched migration or a revoked grant
    // would): its queries now fail in Postgres.
    sqlx::query("DROP VIEW report_duplicates_daily")
        .execute(&db.pool)
        .await?;
    let leaks = [
        "report_duplicates_daily",
        "relation",
        "does not exist",
        "SELECT",
        "database",
    ];
    let (status, body) = server.get("/api/duplicates?from=2024-06-19&to=2024-06-21")?;
    assert_eq!(status, 500, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(
        error["error"],
        newsflow_report::server::INTERNAL_ERROR_MESSAGE,
        "{body}"
    );
    assert!(!leaks.iter().any(|l| body.contains(l)), "{body}");
    // The HTML page, which reads the view too, says the same.
    let (status, page) = server.get("/?from=2024-06-19&to=2024-06-21")?;
    assert_eq!(status, 500);
    assert!(page.contains("the server log has the details"), "{page}");
    assert!(!leaks.iter().any(|l| page.contains(l)), "{page}");
    // Other reports still answer, and the operator finds the cause in the log.
    let dyads = server.get_json("/api/dyads?from=2024-06-19&to=2024-06-21")?;
    assert_eq!(dyads["rows"][0]["source_code"], "PRKGOV");
    let log = server.service.log_text();
    assert!(
        log.contains("report query failed") && log.contains("report_duplicates_daily"),
        "{log}"
    );
    drop(server);
    db.drop_db().await
}

#[tokio::test]
async fn the_html_page_applies_the_story_filter_to_its_stories_table() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let server = Server::start(&db.url)?;
    let stories_section = |page: &str| -> String {
        page.split("<section id=\"stories\">")
            .nth(1)
            .and_then(|s| s.split("</section>").next())
            .unwrap_or_default()
            .to_owned()
    };
    let (status, all) = server.get("/?from=2024-06-19&to=2024-06-21")?;
    assert_eq!(status, 200);
    assert!(stories_section(&all).contains("(4 rows)"), "{all}");
    let (status, one) = server.get("/?from=2024-06-19&to=2024-06-21&story=3")?;
    assert_eq!(status, 200);
    let section = stories_section(&one);
    assert!(section.contains("(1 rows)"), "{section}");
    assert!(
        section.contains("Military update from the peninsula"),
        "{section}"
    );
    assert!(!section.contains("Putin and Kim"), "{section}");
    // The events table uses the same story: story 3's two events, one of them (the May
    // artillery fire) outside the range.
    let events = one
        .split("<section id=\"events\">")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .unwrap_or_default();
    assert!(events.contains("(1 rows)"), "{events}");
    assert!(events.contains("KORMIL"), "{events}");
    // The form keeps the story.
    assert!(one.contains("name=\"story\" value=\"3\""), "{one}");
    drop(server);
    db.drop_db().await
}
