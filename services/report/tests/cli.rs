//! The command line against the known fixture (what the real pipeline makes of
//! `tests/data/corpus.jsonl`): every subcommand's rows, the three output formats, the GDELT
//! export's columns and values, charts, and bad filters failing with exit code 2 and a message
//! that names the flag.

mod common;

use common::{
    ARTILLERY, CRITICISM, DEFENDED, MILITARY_SAYS, SANCTIONS, TALKS, TREATY, fixture_db, png_stats,
    run, run_json,
};
use newsflow_report::gdelt::gdelt_event_id;
use serde_json::{Value, json};

fn codes(rows: &Value, a: &str, b: &str) -> Vec<String> {
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    format!(
                        "{}>{}",
                        r[a].as_str().unwrap_or(""),
                        r[b].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// JSON with every number as a float, so `-10` (Postgres) equals `-10.0` (serde).
fn as_floats(v: Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.into_iter().map(as_floats).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, as_floats(v))).collect()),
        other => other,
    }
}

#[tokio::test]
async fn events_daily_matches_the_view_and_filters_narrow_it() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let rows = run_json(&db.url, &["events-daily", "--format", "json"])?;
    let view: Vec<(String,)> = sqlx::query_as(
        "SELECT json_build_object('day', day, 'root_code', root_code, 'quad_class', quad_class, \
                'country', country, 'events', events, 'mentions', mentions, 'articles', articles, \
                'mean_goldstein', mean_goldstein)::text \
         FROM report_events_daily ORDER BY day, root_code, quad_class, country",
    )
    .fetch_all(&db.pool)
    .await?;
    let view: Vec<Value> = view
        .iter()
        .map(|(t,)| serde_json::from_str(t))
        .collect::<Result<_, _>>()?;
    assert_eq!(as_floats(rows), as_floats(Value::Array(view)));

    let june19 = run_json(
        &db.url,
        &[
            "events-daily",
            "--from",
            "2024-06-19",
            "--to",
            "2024-06-19",
            "--format",
            "json",
        ],
    )?;
    // The seed sample's day: statements, Putin's pledge, the treaty and Putin defending North
    // Korea (root 05), criticism of the US — each reported in the seed and its syndicated copy.
    assert_eq!(
        as_floats(june19),
        as_floats(json!([
            {"day": "2024-06-19", "root_code": 1, "quad_class": 1, "country": "KOR", "events": 3, "mentions": 6, "articles": 6, "mean_goldstein": 0.0},
            {"day": "2024-06-19", "root_code": 1, "quad_class": 1, "country": "UKR", "events": 1, "mentions": 2, "articles": 2, "mean_goldstein": 0.0},
            {"day": "2024-06-19", "root_code": 3, "quad_class": 1, "country": "KOR", "events": 1, "mentions": 2, "articles": 2, "mean_goldstein": 4.0},
            {"day": "2024-06-19", "root_code": 5, "quad_class": 1, "country": "KOR", "events": 2, "mentions": 8, "articles": 4, "mean_goldstein": 5.75},
            {"day": "2024-06-19", "root_code": 11, "quad_class": 3, "country": "KOR", "events": 2, "mentions": 4, "articles": 4, "mean_goldstein": -2.0},
        ]))
    );
    // Material conflict: the 2022 invasion, the May artillery fire, the sanctions.
    let conflict = run_json(
        &db.url,
        &["events-daily", "--quad-class", "4", "--format", "json"],
    )?;
    let days: Vec<&str> = conflict
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["day"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(days, ["2022-02-01", "2024-05-30", "2024-06-21"]);
    let by_code = run_json(
        &db.url,
        &["events-daily", "--code", "057", "--format", "json"],
    )?;
    assert_eq!(by_code.as_array().map(Vec::len), Some(1));
    assert_eq!(by_code[0]["events"], 1);
    assert_eq!(by_code[0]["mentions"], 6);
    // Events with a South Korean actor or place.
    let korea = run_json(
        &db.url,
        &["events-daily", "--country", "kor", "--format", "json"],
    )?;
    assert_eq!(korea.as_array().map(Vec::len), Some(11));
    db.drop_db().await
}

#[tokio::test]
async fn dyads_actors_and_events_return_the_known_rows() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let range = [
        "--from",
        "2024-06-19",
        "--to",
        "2024-06-22",
        "--format",
        "json",
    ];
    let dyads = run_json(&db.url, &[&["dyads"][..], &range].concat())?;
    // Busiest first: the treaty (one event, canonical order PRK before RUS, 6 mentions).
    assert_eq!(
        codes(&dyads, "source_code", "target_code"),
        [
            "PRKGOV>RUSGOV",
            "USA>PRK",
            "KORGOV>USAGOV",
            "RUSGOV>PRK",
            "RUSGOV>USA",
            "JPN>PHL",
            "KOR>RUS"
        ]
    );
    assert_eq!(dyads[0]["events"], 1);
    assert_eq!(dyads[0]["mentions"], 6);
    assert_eq!(dyads[0]["mean_goldstein"], 8.0);

    let actors = run_json(&db.url, &[&["actors"][..], &range].concat())?;
    let list: Vec<(String, i64, i64, i64)> = actors
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["actor_code"].as_str().unwrap_or("").to_owned(),
                        r["events"].as_i64().unwrap_or(-1),
                        r["as_source"].as_i64().unwrap_or(-1),
                        r["as_target"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        list,
        vec![
            ("RUSGOV".into(), 6, 5, 1),
            ("USA".into(), 3, 2, 1),
            ("PRK".into(), 2, 0, 2),
            ("KORGOV".into(), 2, 2, 0),
            ("PRKGOV".into(), 1, 1, 0),
            ("IGOWSTNAT".into(), 1, 1, 0),
            ("USAGOV".into(), 1, 0, 1),
            ("JPN".into(), 1, 1, 0),
            ("KOR".into(), 1, 1, 0),
            ("KORMIL".into(), 1, 1, 0),
            ("PHL".into(), 1, 0, 1),
            ("RUS".into(), 1, 0, 1),
        ]
    );
    // An actor prefix keeps the matching actors only; --limit cuts.
    let rus = run_json(&db.url, &["actors", "--actor", "RUS", "--format", "json"])?;
    assert_eq!(
        codes(&rus, "actor_code", "actor_country"),
        ["RUSGOV>RUS", "RUS>RUS"]
    );
    let top = run_json(&db.url, &[&["dyads", "--limit", "1"][..], &range].concat())?;
    assert_eq!(top.as_array().map(Vec::len), Some(1));

    let events = run_json(&db.url, &["events", "--format", "json"])?;
    assert_eq!(events.as_array().map(Vec::len), Some(23));
    assert_eq!(events[0]["event_id"], TREATY);
    // Story 2, the Seoul report: Blinken's talks and South Korea's criticism of Russia.
    let story2 = run_json(&db.url, &["events", "--story", "2", "--format", "json"])?;
    let mut ids: Vec<&str> = story2
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["event_id"].as_str()).collect())
        .unwrap_or_default();
    ids.sort_unstable();
    assert_eq!(ids, [TALKS, CRITICISM]);
    let sanctions = run_json(
        &db.url,
        &[
            "events", "--code", "16", "--actor", "USA", "--format", "json",
        ],
    )?;
    assert_eq!(sanctions.as_array().map(Vec::len), Some(1));
    assert_eq!(sanctions[0]["event_id"], SANCTIONS);
    db.drop_db().await
}

#[tokio::test]
async fn story_filter_matches_the_events_report_stories_counts() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let stories: Vec<(i64, Vec<String>)> =
        sqlx::query_as("SELECT story_id, event_ids FROM report_stories ORDER BY story_id")
            .fetch_all(&db.pool)
            .await?;
    assert_eq!(stories.len(), 5);
    for (story, expected) in stories {
        let s = story.to_string();
        let events = run_json(&db.url, &["events", "--story", &s, "--format", "json"])?;
        let mut ids: Vec<String> = events
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r["event_id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        assert_eq!(ids, expected, "story {story}");
        // The aggregates count the same events.
        let daily = run_json(
            &db.url,
            &["events-daily", "--story", &s, "--format", "json"],
        )?;
        let counted: i64 = daily
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["events"].as_i64()).sum())
            .unwrap_or_default();
        assert_eq!(counted, i64::try_from(expected.len())?, "story {story}");
    }
    // Dyads and actors of story 2: the talks (canonical order) and the criticism.
    let dyads = run_json(&db.url, &["dyads", "--story", "2", "--format", "json"])?;
    assert_eq!(
        codes(&dyads, "source_code", "target_code"),
        ["KORGOV>USAGOV", "KOR>RUS"]
    );
    let actors = run_json(&db.url, &["actors", "--story", "2", "--format", "json"])?;
    assert_eq!(
        codes(&actors, "actor_code", "actor_country"),
        ["KORGOV>KOR", "USAGOV>USA", "KOR>KOR", "RUS>RUS"]
    );
    // Story 1, the seed sample: the treaty is its busiest dyad, among ten.
    let dyads = run_json(&db.url, &["dyads", "--story", "1", "--format", "json"])?;
    assert_eq!(dyads.as_array().map(Vec::len), Some(10));
    assert_eq!(
        codes(&dyads, "source_code", "target_code")[0],
        "PRKGOV>RUSGOV"
    );
    // A story nobody wrote has no events.
    let none = run_json(&db.url, &["events", "--story", "99", "--format", "json"])?;
    assert_eq!(none, json!([]));
    db.drop_db().await
}

#[tokio::test]
async fn dyads_daily_is_the_dyads_over_time() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let range = [
        "--from",
        "2024-06-19",
        "--to",
        "2024-06-22",
        "--format",
        "json",
    ];
    let rows = run_json(&db.url, &[&["dyads-daily"][..], &range].concat())?;
    assert_eq!(
        as_floats(rows),
        as_floats(json!([
            {"day": "2024-06-19", "source_code": "PRKGOV", "source_name": "Kim Jong Un",
             "target_code": "RUSGOV", "target_name": "Vladimir Putin", "events": 1, "mentions": 6,
             "mean_goldstein": 8.0, "cooperative_events": 1, "conflictual_events": 0},
            {"day": "2024-06-19", "source_code": "RUSGOV", "source_name": "Vladimir Putin",
             "target_code": "PRK", "target_name": "North Korea", "events": 1, "mentions": 2,
             "mean_goldstein": 3.5, "cooperative_events": 1, "conflictual_events": 0},
            {"day": "2024-06-19", "source_code": "RUSGOV", "source_name": "Vladimir Putin",
             "target_code": "USA", "target_name": "United States", "events": 1, "mentions": 2,
             "mean_goldstein": -2.0, "cooperative_events": 0, "conflictual_events": 1},
            {"day": "2024-06-20", "source_code": "KORGOV", "source_name": "South Korea",
             "target_code": "USAGOV", "target_name": "Antony Blinken", "events": 1, "mentions": 2,
             "mean_goldstein": 1.0, "cooperative_events": 1, "conflictual_events": 0},
            {"day": "2024-06-20", "source_code": "KOR", "source_name": "South Korea",
             "target_code": "RUS", "target_name": "Russia", "events": 1, "mentions": 1,
             "mean_goldstein": -2.0, "cooperative_events": 0, "conflictual_events": 1},
            {"day": "2024-06-21", "source_code": "USA", "source_name": "United States",
             "target_code": "PRK", "target_name": "North Korea", "events": 1, "mentions": 4,
             "mean_goldstein": -8.0, "cooperative_events": 0, "conflictual_events": 1},
            {"day": "2024-06-22", "source_code": "JPN", "source_name": "Japan",
             "target_code": "PHL", "target_name": "Philippines", "events": 1, "mentions": 1,
             "mean_goldstein": 7.4, "cooperative_events": 1, "conflictual_events": 0},
        ]))
    );

    // Unfiltered, it is the view.
    let all = run_json(&db.url, &["dyads-daily", "--format", "json"])?;
    let view: Vec<(String,)> = sqlx::query_as(
        "SELECT json_build_object('day', day, 'source_code', source_code, \
                'source_name', source_name, 'target_code', target_code, \
                'target_name', target_name, 'events', events, 'mentions', mentions, \
                'mean_goldstein', mean_goldstein, 'cooperative_events', cooperative_events, \
                'conflictual_events', conflictual_events)::text \
         FROM report_dyads_daily ORDER BY day, events DESC, mentions DESC, source_code, target_code",
    )
    .fetch_all(&db.pool)
    .await?;
    let view: Vec<Value> = view
        .iter()
        .map(|(t,)| serde_json::from_str(t))
        .collect::<Result<_, _>>()?;
    assert_eq!(as_floats(all), as_floats(Value::Array(view)));

    // The event filters and the limit apply.
    let conflict = run_json(
        &db.url,
        &[&["dyads-daily", "--quad-class", "4"][..], &range].concat(),
    )?;
    assert_eq!(codes(&conflict, "source_code", "target_code"), ["USA>PRK"]);
    assert_eq!(conflict[0]["day"], "2024-06-21");
    let story2 = run_json(
        &db.url,
        &[&["dyads-daily", "--story", "2"][..], &range].concat(),
    )?;
    assert_eq!(
        codes(&story2, "source_code", "target_code"),
        ["KORGOV>USAGOV", "KOR>RUS"]
    );
    let usa = run_json(
        &db.url,
        &[&["dyads-daily", "--actor", "USA"][..], &range].concat(),
    )?;
    assert_eq!(
        codes(&usa, "day", "target_code"),
        ["2024-06-19>USA", "2024-06-20>USAGOV", "2024-06-21>PRK"]
    );
    let first = run_json(
        &db.url,
        &[&["dyads-daily", "--limit", "2"][..], &range].concat(),
    )?;
    assert_eq!(
        codes(&first, "day", "source_code"),
        ["2024-06-19>PRKGOV", "2024-06-19>RUSGOV"]
    );

    // CSV and the table.
    let out = run(
        &db.url,
        &[
            "dyads-daily",
            "--from",
            "2024-06-19",
            "--to",
            "2024-06-19",
            "--format",
            "csv",
        ],
    )?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout)?,
        "day,source_code,source_name,target_code,target_name,events,mentions,mean_goldstein,cooperative,conflictual\n\
         2024-06-19,PRKGOV,Kim Jong Un,RUSGOV,Vladimir Putin,1,6,8.00,1,0\n\
         2024-06-19,RUSGOV,Vladimir Putin,PRK,North Korea,1,2,3.50,1,0\n\
         2024-06-19,RUSGOV,Vladimir Putin,USA,United States,1,2,-2.00,0,1\n"
    );
    let out = run(
        &db.url,
        &["dyads-daily", "--from", "2024-06-20", "--to", "2024-06-20"],
    )?;
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout)?;
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("day         source_code  source_name"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("2024-06-20  KORGOV       South Korea"),
        "{text}"
    );
    assert_eq!(lines.last().copied(), Some("(2 rows)"));
    db.drop_db().await
}

#[tokio::test]
async fn event_shows_every_mention_with_sentence_outlet_and_url() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let record = run_json(&db.url, &["event", TREATY, "--format", "json"])?;
    // One event for both sides of the signing, in canonical order.
    assert_eq!(record["event"]["source_code"], "PRKGOV");
    assert_eq!(record["event"]["target_code"], "RUSGOV");
    assert_eq!(record["event"]["cameo_code"], "057");
    assert_eq!(record["event"]["event_date"], "2024-06-19");
    assert_eq!(record["event"]["num_mentions"], 6);
    let mentions = record["mentions"].as_array().cloned().unwrap_or_default();
    assert_eq!(mentions.len(), 6);
    let reports: Vec<(&str, i64, bool)> = mentions
        .iter()
        .map(|m| {
            (
                m["outlet"].as_str().unwrap_or_default(),
                m["sentence_no"].as_i64().unwrap_or(-1),
                m["is_copy"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        reports,
        [
            ("seed.example", 12, false),
            ("seed.example", 46, false),
            ("seed.example", 48, false),
            ("wire.example", 12, true),
            ("wire.example", 46, true),
            ("wire.example", 48, true),
        ]
    );
    assert_eq!(mentions[0]["url"], "https://seed.example/world/seed");
    assert_eq!(mentions[3]["url"], "https://wire.example/world/seed-copy");
    assert!(
        mentions[1]["sentence"]
            .as_str()
            .is_some_and(|s| s.starts_with("Russia and North Korea signed a new treaty"))
    );
    // A headline mention: the sanctions report's title.
    let sanctions = run_json(&db.url, &["event", SANCTIONS, "--format", "json"])?;
    assert_eq!(sanctions["mentions"][0]["in_title"], true);
    assert_eq!(
        sanctions["mentions"][0]["sentence"],
        "US imposes new sanctions on North Korea"
    );

    let table = run(&db.url, &["event", TREATY])?;
    assert!(table.status.success());
    let text = String::from_utf8(table.stdout)?;
    assert!(
        text.contains("PRKGOV (Kim Jong Un)")
            && text.contains("RUSGOV (Vladimir Putin)")
            && text.contains("057 (root 05"),
        "{text}"
    );
    assert!(text.contains("(6 rows)"), "{text}");

    let missing = run(&db.url, &["event", "00000000000000000000000000000000"])?;
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no event with id"));
    db.drop_db().await
}

#[tokio::test]
async fn stories_duplicates_and_dlq_in_csv() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let read = |args: &[&str]| -> anyhow::Result<Vec<csv::StringRecord>> {
        let out = run(&db.url, args)?;
        anyhow::ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
        Ok(reader.records().collect::<Result<_, _>>()?)
    };
    let stories = read(&["stories", "--format", "csv"])?;
    // Newest first; the seed sample's story last: 2 articles (1 a copy) from 2 outlets.
    let ids: Vec<&str> = stories.iter().map(|r| &r[0]).collect();
    assert_eq!(ids, ["5", "4", "2", "3", "1"]);
    assert_eq!(&stories[4][4], "2");
    assert_eq!(&stories[4][5], "1");
    assert_eq!(&stories[4][6], "seed.example wire.example");
    assert_eq!(&stories[4][7], "17");
    let one = read(&["stories", "--story", "4", "--format", "csv"])?;
    assert_eq!(one.len(), 1);
    assert_eq!(&one[0][1], "US imposes new sanctions on North Korea");
    assert_eq!((&one[0][4], &one[0][5], &one[0][7]), ("2", "1", "1"));
    assert_eq!(&one[0][8], SANCTIONS);
    let early = read(&["stories", "--to", "2024-06-19", "--format", "csv"])?;
    assert_eq!(early.len(), 1);

    let dups = read(&["duplicates", "--format", "csv"])?;
    let kinds: Vec<String> = dups
        .iter()
        .map(|r| format!("{} {} {} {}", &r[0], &r[1], &r[2], &r[3]))
        .collect();
    assert_eq!(
        kinds,
        [
            "2024-06-19 near_duplicate 1 0.99",
            "2024-06-19 original 1 ",
            "2024-06-20 original 2 ",
            "2024-06-21 exact_url 1 1.00",
            "2024-06-21 original 1 ",
            "2024-06-22 original 1 ",
        ]
    );
    let dlq = read(&["dlq", "--format", "csv"])?;
    let classes: Vec<String> = dlq
        .iter()
        .map(|r| format!("{} {} {} {}", &r[0], &r[1], &r[2], &r[3]))
        .collect();
    assert_eq!(
        classes,
        ["2024-06-23 invalid_json 1 86", "2024-06-23 no_text 1 209"]
    );
    let none = read(&["dlq", "--to", "2024-06-22", "--format", "csv"])?;
    assert!(none.is_empty());
    db.drop_db().await
}

#[tokio::test]
async fn table_output_is_aligned() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let out = run(
        &db.url,
        &["dyads", "--from", "2024-06-19", "--to", "2024-06-21"],
    )?;
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout)?;
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("source_code  source_name"), "{text}");
    assert!(lines[1].starts_with("-----------  "), "{text}");
    // Every data row has its events column ending at the same place as the header's.
    let end = lines[0].find("events").map(|i| i + "events".len());
    for line in &lines[2..8] {
        let digit = line
            .char_indices()
            .take_while(|(i, _)| Some(*i) < end)
            .last()
            .map(|(_, c)| c);
        assert!(digit.is_some_and(|c| c.is_ascii_digit()), "{line}");
    }
    assert_eq!(lines.last().copied(), Some("(6 rows)"));
    db.drop_db().await
}

#[tokio::test]
async fn bad_filters_exit_2_and_name_the_flag() -> anyhow::Result<()> {
    // No database is needed to refuse these; a wrong URL proves the check comes first.
    let url = "postgres://postgres@127.0.0.1:1/none";
    for (args, flag) in [
        (vec!["events-daily", "--from", "2024-02-30"], "--from"),
        (vec!["events-daily", "--to", "June"], "--to"),
        (
            vec!["dyads", "--from", "2024-06-02", "--to", "2024-06-01"],
            "--from",
        ),
        (vec!["dyads", "--quad-class", "5"], "--quad-class"),
        (vec!["actors", "--code", "5x"], "--code"),
        (vec!["actors", "--code", "99"], "--code"),
        (vec!["events", "--country", "Korea"], "--country"),
        (vec!["events", "--actor", "R"], "--actor"),
        (vec!["events", "--story", "abc"], "--story"),
        (vec!["events", "--limit", "0"], "--limit"),
        (vec!["events", "--limit", "10001"], "--limit"),
        (vec!["stories", "--from", "yesterday"], "--from"),
        // Dates outside 1900-2200, with only one end given, are refused before any
        // arithmetic on them.
        (vec!["events", "--from", "+262142-12-31"], "--from"),
        (vec!["dyads-daily", "--to", "+262143-12-31"], "--to"),
        (
            vec![
                "chart",
                "timeline",
                "--out",
                "/tmp/x.svg",
                "--from",
                "1899-12-31",
            ],
            "--from",
        ),
        (
            vec![
                "export-gdelt",
                "--from",
                "+262143-12-31",
                "--to",
                "+262143-12-31",
                "--out-dir",
                "/tmp",
            ],
            "--from",
        ),
        (
            vec![
                "export-gdelt",
                "--from",
                "2024-06-01",
                "--to",
                "2024-13-01",
                "--out-dir",
                "/tmp",
            ],
            "--to",
        ),
        (vec!["chart", "timeline", "--out", "/tmp/x.jpg"], "--out"),
        (vec!["event", "not-an-id!"], "<ID>"),
    ] {
        let out = run(url, &args)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(flag),
            "{args:?} should name {flag}: {stderr}"
        );
    }
    // clap's own checks (unknown subcommand / format) also exit 2 and name the argument.
    let out = run(url, &["events", "--format", "xml"])?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
    Ok(())
}

#[tokio::test]
async fn gdelt_export_has_61_and_16_columns_with_the_known_values() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let dir = std::env::temp_dir().join(newsflow_testkit::unique("gdelt"));
    let dir_str = dir.to_string_lossy().into_owned();
    let out = run(
        &db.url,
        &[
            "export-gdelt",
            "--from",
            "2024-06-19",
            "--to",
            "2024-06-21",
            "--out-dir",
            &dir_str,
        ],
    )?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "20240619000000.export.CSV",
            "20240619000000.mentions.CSV",
            "20240620000000.export.CSV",
            "20240620000000.mentions.CSV",
            "20240621000000.export.CSV",
            "20240621000000.mentions.CSV",
        ]
    );
    let read = |name: &str| -> anyhow::Result<Vec<Vec<String>>> {
        let text = std::fs::read_to_string(dir.join(name))?;
        Ok(text
            .lines()
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect())
    };
    let events = read("20240619000000.export.CSV")?;
    assert_eq!(
        events.len(),
        9,
        "the seed sample's nine events of its own day"
    );
    assert!(
        events.iter().all(|r| r.len() == 61),
        "every event row has 61 columns"
    );
    let treaty_id = gdelt_event_id(TREATY);
    assert_eq!(treaty_id, 0x404c_93c4_3189_b5c6);
    let e = events
        .iter()
        .find(|r| r[0] == treaty_id.to_string())
        .ok_or_else(|| anyhow::anyhow!("treaty not exported"))?;
    let expect = [
        (1, "20240619"),
        (2, "202406"),
        (3, "2024"),
        (4, "2024.4685"),
        // One event for both sides of the signing, in canonical order (PRK before RUS).
        (5, "PRKGOV"),
        (6, "Kim Jong Un"),
        (7, "PRK"),
        (12, "GOV"),
        (15, "RUSGOV"),
        (16, "Vladimir Putin"),
        (17, "RUS"),
        (22, "GOV"),
        // Reported deep in the article, never in its headline or lead.
        (25, "0"),
        (26, "057"),
        (27, "057"),
        (28, "05"),
        (29, "1"),
        (30, "8.0"),
        // 3 reports in the seed sample and 3 in its syndicated copy: 2 outlets, 2 articles.
        (31, "6"),
        (32, "2"),
        (33, "2"),
        (34, ""),
        (35, ""),
        (43, ""),
        // ActionGeo: the seed's "SEOUL" dateline, a city (type 4), FIPS 10-4 country code as
        // GDELT writes it (KS, not KOR).
        (51, "4"),
        (52, "Seoul, South Korea"),
        (53, "KS"),
        (54, ""),
        (55, ""),
        (56, "37.5700"),
        (57, "126.9800"),
        (58, ""),
        (59, "20240619090000"),
        (60, "https://seed.example/world/seed"),
    ];
    for (i, v) in expect {
        assert_eq!(
            e[i],
            v,
            "column {} ({})",
            i + 1,
            newsflow_report::gdelt::EVENT_COLUMNS[i]
        );
    }
    // Putin defending North Korea: its hex id has the top bit set; the number is still
    // positive and stable.
    let defended_id = gdelt_event_id(DEFENDED);
    assert_eq!(defended_id, 0x7ee6_55a0_f06b_9b8a);
    assert!(events.iter().any(|r| r[0] == defended_id.to_string()));

    let mentions = read("20240619000000.mentions.CSV")?;
    assert!(
        mentions.iter().all(|r| r.len() == 16),
        "every mention row has 16 columns"
    );
    assert_eq!(
        mentions.len(),
        22,
        "11 mentions in the seed sample, each carried over to its copy"
    );
    let treaty: Vec<&Vec<String>> = mentions
        .iter()
        .filter(|r| r[0] == treaty_id.to_string())
        .collect();
    assert_eq!(treaty.len(), 6);
    // "SEOUL, South Korea — Russia and North Korea signed a new treaty …" (sentence 46, at
    // character 4963): Actor1 (North Korea) 11 characters in, Actor2 (Russia) opens it.
    let lead = treaty
        .iter()
        .find(|r| r[4] == "seed.example" && r[6] == "46")
        .ok_or_else(|| anyhow::anyhow!("the seed's treaty mention is missing"))?;
    let body_lens: Vec<i32> =
        sqlx::query_scalar("SELECT char_length(body) FROM articles WHERE id IN (1, 3) ORDER BY id")
            .fetch_all(&db.pool)
            .await?;
    let expect = [
        (1, "20240619090000".to_owned()),
        (2, "20240619090000".to_owned()),
        (3, "1".to_owned()),
        (5, "https://seed.example/world/seed".to_owned()),
        (7, "4974".to_owned()),
        (8, "4963".to_owned()),
        (9, "4986".to_owned()),
        (10, "1".to_owned()),
        (11, "92".to_owned()),
        (12, body_lens[0].to_string()),
        (13, String::new()),
    ];
    for (i, v) in expect {
        assert_eq!(
            lead[i],
            v,
            "column {} ({})",
            i + 1,
            newsflow_report::gdelt::MENTION_COLUMNS[i]
        );
    }
    // The same report in the syndicated copy: mentioned when the copy was published, in a
    // longer document (the copyright line).
    let copy = treaty
        .iter()
        .find(|r| r[4] == "wire.example" && r[6] == "46")
        .ok_or_else(|| anyhow::anyhow!("the copy's treaty mention is missing"))?;
    assert_eq!(copy[2], "20240619103000");
    assert_eq!(copy[5], "https://wire.example/world/seed-copy");
    assert_eq!(copy[12], body_lens[1].to_string());
    // Stoltenberg's statement (sentence 52) has no target: GDELT's -1 offset.
    let statement = mentions
        .iter()
        .find(|r| r[4] == "wire.example" && r[6] == "52")
        .ok_or_else(|| anyhow::anyhow!("Stoltenberg's statement missing"))?;
    assert_eq!(statement[8], "-1", "no target: GDELT's -1 offset");
    // Seoul is South Korea: KS; the military's statement is located in North Korea: KN.
    let june20 = read("20240620000000.export.CSV")?;
    assert_eq!(june20.len(), 3);
    for (event, geo) in [
        (TALKS, ["4", "Seoul, South Korea", "KS"]),
        (CRITICISM, ["4", "Seoul, South Korea", "KS"]),
        (MILITARY_SAYS, ["1", "North Korea", "KN"]),
    ] {
        let row = june20
            .iter()
            .find(|r| r[0] == gdelt_event_id(event).to_string())
            .ok_or_else(|| anyhow::anyhow!("{event} not exported"))?;
        assert_eq!(row[51..54], geo, "{event}");
    }
    // The sanctions: reported in the headline, so a root event; 4 mentions from 1 outlet
    // (NumSources) in 2 articles, the report and its re-post (NumArticles).
    let june21 = read("20240621000000.export.CSV")?;
    assert_eq!(june21.len(), 1);
    assert_eq!(june21[0][0], gdelt_event_id(SANCTIONS).to_string());
    assert_eq!(
        june21[0][25..34],
        ["1", "163", "163", "16", "4", "-8.0", "4", "1", "2"]
    );
    // Out of range: the May artillery fire is not exported.
    let all: String = files
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).unwrap_or_default())
        .collect();
    assert!(!all.contains(&gdelt_event_id(ARTILLERY).to_string()));
    std::fs::remove_dir_all(&dir)?;

    // The artillery fire is located in North Korea only: a country-level place (type 1) with
    // GDELT's country conventions (FIPS code as ADM1Code and FeatureID, the centroid).
    let out = run(
        &db.url,
        &[
            "export-gdelt",
            "--from",
            "2024-05-30",
            "--to",
            "2024-05-30",
            "--out-dir",
            &dir_str,
        ],
    )?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let may = read("20240530000000.export.CSV")?;
    assert_eq!(may.len(), 1);
    assert_eq!(
        may[0][51..59],
        [
            "1",
            "North Korea",
            "KN",
            "KN",
            "",
            "40.3000",
            "127.5000",
            "KN"
        ]
    );
    assert_eq!(may[0][15], "", "no target");
    std::fs::remove_dir_all(&dir)?;
    db.drop_db().await
}

#[tokio::test]
async fn charts_render_to_png_and_svg() -> anyhow::Result<()> {
    common::ensure_chromium_and_fonts()?;
    let db = fixture_db().await?;
    let dir = std::env::temp_dir().join(newsflow_testkit::unique("charts"));
    std::fs::create_dir_all(&dir)?;
    for (kind, color) in [
        ("timeline", [46, 139, 87]),
        ("dyads", [46, 139, 87]),
        ("actors", [30, 100, 200]),
    ] {
        let png_path = dir.join(format!("{kind}.png"));
        let svg_path = dir.join(format!("{kind}.svg"));
        for path in [&png_path, &svg_path] {
            let p = path.to_string_lossy().into_owned();
            let out = run(
                &db.url,
                &[
                    "chart",
                    kind,
                    "--from",
                    "2024-06-15",
                    "--to",
                    "2024-06-25",
                    "--out",
                    &p,
                ],
            )?;
            assert!(
                out.status.success(),
                "{kind}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let (w, h, non_white, colored) = png_stats(&std::fs::read(&png_path)?, color)?;
        assert_eq!((w, h), (1000, 560));
        assert!(
            non_white > 0.02,
            "{kind}: only {non_white:.3} of the pixels are drawn"
        );
        assert!(
            colored > 200,
            "{kind}: the data colour covers only {colored} pixels"
        );
        let svg = std::fs::read_to_string(&svg_path)?;
        assert!(svg.starts_with("<svg"), "{kind}");
        let title = match kind {
            "timeline" => "Events per day by quad class",
            "dyads" => "Top dyads",
            _ => "Most active actors",
        };
        assert!(svg.contains(title), "{kind} has its title");
    }
    let dyads = std::fs::read_to_string(dir.join("dyads.svg"))?;
    assert!(dyads.contains("PRKGOV → RUSGOV") && dyads.contains("mean Goldstein"));
    let timeline = std::fs::read_to_string(dir.join("timeline.svg"))?;
    assert!(timeline.contains("3 verbal conflict") && timeline.contains("event date"));
    std::fs::remove_dir_all(&dir)?;
    db.drop_db().await
}
