//! The binary's command line: offline `code` output, and start-up refusing bad settings with a
//! message that names them.

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_newsflow-extract");

fn code(input: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut child = Command::new(BIN).args(["code", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    child.stdin.take().map(|mut s| s.write_all(input.as_bytes())).transpose()?;
    let out = child.wait_with_output()?;
    assert!(out.status.success());
    Ok(String::from_utf8(out.stdout)?.lines().map(serde_json::from_str).collect::<Result<_, _>>()?)
}

#[test]
fn code_prints_mentions_then_story_lines() -> anyhow::Result<()> {
    let seed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/samples/seed-article.txt"))?;
    let input = [
        serde_json::json!({"id": "s1", "text": "Russia imposed sanctions on Japan on Monday.", "date": "2024-03-06"}),
        serde_json::json!({"id": "s2", "text": "The weather in the capital was mild.", "date": "2024-03-06"}),
        serde_json::json!({"id": "a1", "url": "https://seed.example/a1", "title": "Summit", "text": seed,
                           "published_at": "2024-06-19T09:00:00Z", "source": "seed.example"}),
        serde_json::json!({"id": "a2", "url": "https://copy.example/a2", "title": "Summit again", "text": seed,
                           "published_at": "2024-06-19T10:00:00Z", "source": "copy.example"}),
    ]
    .iter()
    .map(|v| format!("{v}\n"))
    .collect::<String>();
    let lines = code(&input)?;

    let s1: Vec<_> = lines.iter().filter(|l| l["id"] == "s1").collect();
    assert_eq!(s1.len(), 1, "{s1:?}");
    assert_eq!(s1[0]["source"]["code"], "RUS");
    assert_eq!(s1[0]["target"]["code"], "JPN");
    assert_eq!(s1[0]["cameo"], "163");
    assert_eq!(s1[0]["date"], "2024-03-04", "'on Monday' resolved against the date");
    for field in ["root", "quad_class", "goldstein", "plover", "place", "sentence", "event_id"] {
        assert!(s1[0].get(field).is_some(), "{field} missing");
    }
    assert!(lines.iter().all(|l| l["id"] != "s2"), "a sentence with no event yields no line");

    // Articles: mentions, then the story line; the same text twice is one story.
    let treaty = lines.iter().find(|l| l["id"] == "a1" && l["cameo"] == "057").expect("treaty signing coded");
    assert_eq!(treaty["date"], "2024-06-19");
    let story = |id: &str| lines.iter().find(|l| l["id"] == id && l.get("story_id").is_some()).map(|l| l["story_id"].clone());
    assert!(story("a1").is_some());
    assert_eq!(story("a1"), story("a2"));
    assert!(!lines.iter().any(|l| l["source"]["name"] == "Vladimir Putin" && l["target"]["name"] == "Vladimir Putin"));
    Ok(())
}

#[test]
fn bad_settings_stop_start_up_naming_the_setting() -> anyhow::Result<()> {
    for (env, named) in [
        (("NEWSFLOW_EVENTS_TOPIC", "no spaces allowed"), "NEWSFLOW_EVENTS_TOPIC"),
        (("NEWSFLOW_DICTIONARIES", "/nonexistent/dictionaries"), "NEWSFLOW_DICTIONARIES"),
        (("DATABASE_URL", "sqlite://x"), "DATABASE_URL"),
    ] {
        let out = Command::new(BIN)
            .arg("run")
            .env_clear()
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
            .env("NEWSFLOW_ADMIN_ADDR", "127.0.0.1:0")
            .env(env.0, env.1)
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{env:?} accepted");
        assert!(stderr.contains(named), "{env:?}: {stderr}");
    }
    Ok(())
}
