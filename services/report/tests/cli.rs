//! The command line against the known fixture: every subcommand's rows, the three output
//! formats, the GDELT export's columns and values, charts, and bad filters failing with exit
//! code 2 and a message that names the flag.

mod common;

use common::{
    ARTILLERY, CRITICISM, SANCTIONS, TALKS, TREATY, VISIT, fixture_db, png_stats, run, run_json,
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
    assert_eq!(
        june19,
        json!([
            {"day": "2024-06-19", "root_code": 4, "quad_class": 1, "country": "PRK", "events": 1, "mentions": 2, "articles": 2, "mean_goldstein": 1.9},
            {"day": "2024-06-19", "root_code": 5, "quad_class": 1, "country": "PRK", "events": 1, "mentions": 3, "articles": 2, "mean_goldstein": 8.0},
        ])
    );
    let conflict = run_json(
        &db.url,
        &["events-daily", "--quad-class", "4", "--format", "json"],
    )?;
    assert_eq!(conflict.as_array().map(Vec::len), Some(2));
    let by_code = run_json(
        &db.url,
        &["events-daily", "--code", "057", "--format", "json"],
    )?;
    assert_eq!(by_code[0]["events"], 1);
    assert_eq!(by_code.as_array().map(Vec::len), Some(1));
    let korea = run_json(
        &db.url,
        &["events-daily", "--country", "kor", "--format", "json"],
    )?;
    assert_eq!(korea.as_array().map(Vec::len), Some(2));
    db.drop_db().await
}

#[tokio::test]
async fn dyads_actors_and_events_return_the_known_rows() -> anyhow::Result<()> {
    let db = fixture_db().await?;
    let range = [
        "--from",
        "2024-06-19",
        "--to",
        "2024-06-21",
        "--format",
        "json",
    ];
    let dyads = run_json(&db.url, &[&["dyads"][..], &range].concat())?;
    assert_eq!(
        codes(&dyads, "source_code", "target_code"),
        [
            "RUSGOV>PRKGOV",
            "KORGOV>RUSGOV",
            "USAGOV>KORGOV",
            "USAGOV>PRKGOV"
        ]
    );
    assert_eq!(dyads[0]["events"], 2);
    assert_eq!(dyads[0]["mentions"], 5);
    assert_eq!(dyads[0]["mean_goldstein"], 4.95);

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
            ("PRKGOV".into(), 3, 0, 3),
            ("RUSGOV".into(), 3, 2, 1),
            ("KORGOV".into(), 2, 1, 1),
            ("USAGOV".into(), 2, 2, 0),
        ]
    );
    // An actor prefix keeps the matching actors only; --limit cuts.
    let rus = run_json(&db.url, &["actors", "--actor", "RUS", "--format", "json"])?;
    assert_eq!(codes(&rus, "actor_code", "actor_country"), ["RUSGOV>RUS"]);
    let top = run_json(&db.url, &[&["dyads", "--limit", "1"][..], &range].concat())?;
    assert_eq!(top.as_array().map(Vec::len), Some(1));

    let events = run_json(&db.url, &["events", "--format", "json"])?;
    assert_eq!(events.as_array().map(Vec::len), Some(6));
    assert_eq!(events[0]["event_id"], TREATY);
    // Story 2's events: the two first reported in it (talks, criticism) and the two its
    // article mentions as well (sanctions, the May artillery fire), as report_stories counts.
    let story2 = run_json(&db.url, &["events", "--story", "2", "--format", "json"])?;
    let mut ids: Vec<&str> = story2
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["event_id"].as_str()).collect())
        .unwrap_or_default();
    ids.sort_unstable();
    assert_eq!(ids, [TALKS, CRITICISM, SANCTIONS, ARTILLERY]);
    let sanctions = run_json(
        &db.url,
        &[
            "events", "--code", "16", "--actor", "USA", "--format", "json",
        ],
    )?;
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
    assert_eq!(stories.len(), 2);
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
    // Dyads and actors of story 1: the two Russia → North Korea events.
    let dyads = run_json(&db.url, &["dyads", "--story", "1", "--format", "json"])?;
    assert_eq!(
        codes(&dyads, "source_code", "target_code"),
        ["RUSGOV>PRKGOV"]
    );
    assert_eq!(dyads[0]["events"], 2);
    let actors = run_json(&db.url, &["actors", "--story", "1", "--format", "json"])?;
    assert_eq!(
        codes(&actors, "actor_code", "actor_country"),
        ["PRKGOV>PRK", "RUSGOV>RUS"]
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
        "2024-06-21",
        "--format",
        "json",
    ];
    let rows = run_json(&db.url, &[&["dyads-daily"][..], &range].concat())?;
    assert_eq!(
        as_floats(rows),
        as_floats(json!([
            {"day": "2024-06-19", "source_code": "RUSGOV", "source_name": "Vladimir Putin",
             "target_code": "PRKGOV", "target_name": "Kim Jong Un", "events": 2, "mentions": 5,
             "mean_goldstein": 4.95, "cooperative_events": 2, "conflictual_events": 0},
            {"day": "2024-06-20", "source_code": "KORGOV", "source_name": "South Korea",
             "target_code": "RUSGOV", "target_name": "Russia", "events": 1, "mentions": 1,
             "mean_goldstein": -2.0, "cooperative_events": 0, "conflictual_events": 1},
            {"day": "2024-06-20", "source_code": "USAGOV", "source_name": "Antony Blinken",
             "target_code": "KORGOV", "target_name": "South Korea", "events": 1, "mentions": 1,
             "mean_goldstein": 1.0, "cooperative_events": 1, "conflictual_events": 0},
            {"day": "2024-06-21", "source_code": "USAGOV", "source_name": "United States",
             "target_code": "PRKGOV", "target_name": "North Korea", "events": 1, "mentions": 1,
             "mean_goldstein": -8.0, "cooperative_events": 0, "conflictual_events": 1},
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
    assert_eq!(
        codes(&conflict, "source_code", "target_code"),
        ["USAGOV>PRKGOV"]
    );
    assert_eq!(conflict[0]["day"], "2024-06-21");
    let story2 = run_json(
        &db.url,
        &[&["dyads-daily", "--story", "2"][..], &range].concat(),
    )?;
    assert_eq!(
        codes(&story2, "source_code", "target_code"),
        ["KORGOV>RUSGOV", "USAGOV>KORGOV", "USAGOV>PRKGOV"]
    );
    let usa = run_json(
        &db.url,
        &[&["dyads-daily", "--actor", "USA"][..], &range].concat(),
    )?;
    assert_eq!(
        codes(&usa, "day", "target_code"),
        ["2024-06-20>KORGOV", "2024-06-21>PRKGOV"]
    );
    let first = run_json(
        &db.url,
        &[&["dyads-daily", "--limit", "2"][..], &range].concat(),
    )?;
    assert_eq!(
        codes(&first, "day", "source_code"),
        ["2024-06-19>RUSGOV", "2024-06-20>KORGOV"]
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
         2024-06-19,RUSGOV,Vladimir Putin,PRKGOV,Kim Jong Un,2,5,4.95,2,0\n"
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
    assert_eq!(record["event"]["source_code"], "RUSGOV");
    assert_eq!(record["event"]["target_code"], "PRKGOV");
    assert_eq!(record["event"]["cameo_code"], "057");
    assert_eq!(record["event"]["event_date"], "2024-06-19");
    let mentions = record["mentions"].as_array().cloned().unwrap_or_default();
    assert_eq!(mentions.len(), 3);
    let outlets: Vec<&str> = mentions
        .iter()
        .filter_map(|m| m["outlet"].as_str())
        .collect();
    assert_eq!(outlets, ["apnews.com", "apnews.com", "reuters.com"]);
    assert_eq!(mentions[0]["in_title"], true);
    assert_eq!(
        mentions[2]["url"],
        "https://www.reuters.com/world/putin-kim-treaty"
    );
    assert!(
        mentions[1]["sentence"]
            .as_str()
            .is_some_and(|s| s.contains("strategic partnership treaty"))
    );

    let table = run(&db.url, &["event", TREATY])?;
    assert!(table.status.success());
    let text = String::from_utf8(table.stdout)?;
    assert!(
        text.contains("RUSGOV (Vladimir Putin)") && text.contains("057 (root 05"),
        "{text}"
    );
    assert!(text.contains("(3 rows)"), "{text}");

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
    assert_eq!(stories.len(), 2);
    // Newest first: story 2, then the treaty story with 3 articles from 3 outlets.
    assert_eq!(&stories[1][0], "1");
    assert_eq!(&stories[1][4], "3");
    assert_eq!(&stories[1][6], "apnews.com reuters.com yahoo.com");
    assert_eq!(&stories[1][7], "2");
    let one = read(&["stories", "--story", "2", "--format", "csv"])?;
    assert_eq!(one.len(), 1);
    assert_eq!(&one[0][7], "4");
    let early = read(&["stories", "--to", "2024-06-19", "--format", "csv"])?;
    assert_eq!(early.len(), 1);

    let dups = read(&["duplicates", "--format", "csv"])?;
    let kinds: Vec<String> = dups
        .iter()
        .map(|r| format!("{} {} {}", &r[0], &r[1], &r[2]))
        .collect();
    assert_eq!(
        kinds,
        [
            "2024-06-19 near_duplicate 1",
            "2024-06-19 original 2",
            "2024-06-20 exact_url 1",
            "2024-06-20 original 1"
        ]
    );
    let dlq = read(&["dlq", "--from", "2024-06-20", "--format", "csv"])?;
    assert_eq!(dlq.len(), 1);
    assert_eq!(&dlq[0][1], "no_text");
    assert_eq!(&dlq[0][2], "1");
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
    for line in &lines[2..6] {
        let digit = line
            .char_indices()
            .take_while(|(i, _)| Some(*i) < end)
            .last()
            .map(|(_, c)| c);
        assert!(digit.is_some_and(|c| c.is_ascii_digit()), "{line}");
    }
    assert_eq!(lines.last().copied(), Some("(4 rows)"));
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
    assert_eq!(events.len(), 2);
    assert!(
        events.iter().all(|r| r.len() == 61),
        "every event row has 61 columns"
    );
    let treaty_id = gdelt_event_id(TREATY);
    assert_eq!(treaty_id, 0x5f0c_1d2e_3a4b_5c6d);
    let e = events
        .iter()
        .find(|r| r[0] == treaty_id.to_string())
        .ok_or_else(|| anyhow::anyhow!("treaty not exported"))?;
    let expect = [
        (1, "20240619"),
        (2, "202406"),
        (3, "2024"),
        (4, "2024.4685"),
        (5, "RUSGOV"),
        (6, "Vladimir Putin"),
        (7, "RUS"),
        (12, "GOV"),
        (15, "PRKGOV"),
        (16, "Kim Jong Un"),
        (17, "PRK"),
        (22, "GOV"),
        (25, "1"),
        (26, "057"),
        (27, "057"),
        (28, "05"),
        (29, "1"),
        (30, "8.0"),
        (31, "3"),
        (32, "2"),
        (33, "2"),
        (34, ""),
        (35, ""),
        (43, ""),
        // ActionGeo: a city (type 4), FIPS 10-4 country code as GDELT writes it (KN, not PRK).
        (51, "4"),
        (52, "Pyongyang, North Korea"),
        (53, "KN"),
        (54, ""),
        (55, ""),
        (56, "39.0392"),
        (57, "125.7625"),
        (58, ""),
        (59, "20240619030000"),
        (60, "https://apnews.com/article/russia-north-korea-treaty"),
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
    // The visit's hex id has its top bit set: the number is still positive and stable.
    let visit_id = gdelt_event_id(VISIT);
    assert_eq!(visit_id, 0x1a8b_7c6d_5e4f_3021);
    assert!(events.iter().any(|r| r[0] == visit_id.to_string()));

    let mentions = read("20240619000000.mentions.CSV")?;
    assert!(
        mentions.iter().all(|r| r.len() == 16),
        "every mention row has 16 columns"
    );
    assert_eq!(mentions.len(), 5, "3 treaty mentions + 2 visit mentions");
    let treaty: Vec<&Vec<String>> = mentions
        .iter()
        .filter(|r| r[0] == treaty_id.to_string())
        .collect();
    assert_eq!(treaty.len(), 3);
    let lead = treaty
        .iter()
        .find(|r| r[4] == "apnews.com" && r[6] == "1")
        .ok_or_else(|| anyhow::anyhow!("AP lead mention missing"))?;
    let body_len: i32 = sqlx::query_scalar("SELECT char_length(body) FROM articles WHERE id = 1")
        .fetch_one(&db.pool)
        .await?;
    let expect = [
        (1, "20240619030000".to_owned()),
        (2, "20240619030000".to_owned()),
        (3, "1".to_owned()),
        (
            5,
            "https://apnews.com/article/russia-north-korea-treaty".to_owned(),
        ),
        (7, "48".to_owned()),
        (8, "87".to_owned()),
        (9, "99".to_owned()),
        (10, "1".to_owned()),
        (11, "95".to_owned()),
        (12, body_len.to_string()),
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
    let copy = mentions
        .iter()
        .find(|r| r[4] == "yahoo.com")
        .ok_or_else(|| anyhow::anyhow!("syndicated mention missing"))?;
    assert_eq!(copy[8], "-1", "no target: GDELT's -1 offset");
    // Seoul is South Korea: KS.
    let june20 = read("20240620000000.export.CSV")?;
    assert!(
        june20
            .iter()
            .all(|r| r[51..54] == ["4", "Seoul, South Korea", "KS"])
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
    assert!(dyads.contains("RUSGOV → PRKGOV") && dyads.contains("mean Goldstein"));
    let timeline = std::fs::read_to_string(dir.join("timeline.svg"))?;
    assert!(timeline.contains("3 verbal conflict") && timeline.contains("event date"));
    std::fs::remove_dir_all(&dir)?;
    db.drop_db().await
}
