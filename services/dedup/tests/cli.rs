//! The binary's command line: offline `check` output, and start-up refusing bad settings with
//! a message that names them.

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_newsflow-dedup");

#[test]
fn check_prints_one_decision_per_article_in_order() -> anyhow::Result<()> {
    let body = "Russia and North Korea signed a new treaty that provides mutual defense assistance, \
                formalizing the two countries' heightened level of military and diplomatic cooperation. \
                The agreement was signed in Pyongyang during a state visit that drew wide attention. \
                Officials in Seoul and Washington said they were studying the text closely.";
    let lines = [
        serde_json::json!({"id": "a1", "url": "https://news.example/treaty", "title": "Treaty signed", "body": body}),
        serde_json::json!({"id": "a2", "url": "https://news.example/treaty?utm_source=x&fbclid=1", "title": "Treaty signed", "body": body}),
        serde_json::json!({"id": "a3", "url": "https://other.example/copy", "title": "Another headline", "body": body}),
        serde_json::json!({"url": "https://news.example/nothing", "body": ""}),
    ];
    let mut input: Vec<u8> = lines
        .iter()
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect();
    input.extend_from_slice(b"\nnot json at all\n");
    let mut child = Command::new(BIN)
        .args(["check", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .map(|mut s| s.write_all(&input))
        .transpose()?;
    let out = child.wait_with_output()?;
    assert!(out.status.success());
    let decisions: Vec<serde_json::Value> = String::from_utf8(out.stdout)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(decisions.len(), 5, "{decisions:?}");
    assert_eq!(decisions[0]["decision"], "original");
    assert_eq!(decisions[0]["id"], "a1");
    assert_eq!(decisions[1]["decision"], "duplicate");
    assert_eq!(decisions[1]["duplicate_of"], "a1");
    assert_eq!(decisions[1]["kind"], "exact_url");
    assert_eq!(decisions[2]["decision"], "duplicate");
    assert_eq!(decisions[2]["kind"], "exact_text");
    assert_eq!(decisions[3]["decision"], "rejected");
    assert_eq!(decisions[3]["kind"], "no_text");
    assert!(
        decisions[3]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    assert_eq!(decisions[4]["decision"], "rejected");
    assert_eq!(decisions[4]["kind"], "invalid_json");
    for d in &decisions {
        for field in [
            "id",
            "decision",
            "duplicate_of",
            "similarity",
            "kind",
            "reason",
        ] {
            assert!(d.get(field).is_some(), "{field} missing in {d}");
        }
    }
    Ok(())
}

fn run_with(env: &[(&str, &str)]) -> anyhow::Result<(bool, String)> {
    let mut cmd = Command::new(BIN);
    cmd.arg("run")
        .env_clear()
        .env(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        )
        .env("NEWSFLOW_ADMIN_ADDR", "127.0.0.1:0")
        .env("NEWSFLOW_LOG_FORMAT", "pretty");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output()?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
fn bad_settings_stop_start_up_naming_the_setting() -> anyhow::Result<()> {
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[("NEWSFLOW_NEAR_DUPLICATE_THRESHOLD", "1.7")],
            "near-duplicate-threshold",
        ),
        (&[("NEWSFLOW_BATCH_SIZE", "0")], "batch-size"),
        (&[("DATABASE_URL", "mysql://x@y/z")], "DATABASE_URL"),
        (
            &[("NEWSFLOW_INPUT_TOPIC", "bad topic!")],
            "NEWSFLOW_INPUT_TOPIC",
        ),
        (&[("NEWSFLOW_BATCH_LINGER_MS", "soon")], "batch-linger-ms"),
        (
            &[("NEWSFLOW_KAFKA_PROPERTIES", "novalue")],
            "kafka-property",
        ),
    ];
    for (env, named) in cases {
        let (ok, stderr) = run_with(env)?;
        assert!(!ok, "{env:?} was accepted");
        assert!(
            stderr.contains(named),
            "{env:?}: message does not name {named}: {stderr}"
        );
    }
    Ok(())
}

#[test]
fn check_classifies_the_hostile_corpus_including_20_mb_lines() -> anyhow::Result<()> {
    use newsflow_core::synth::hostile::{Expected, Hostile, HostileConfig};
    // The whole labelled corpus (three 20 MB messages among 10,000) through the offline
    // path, one line each; blank messages cannot be a line and are left out.
    let corpus: Vec<_> = Hostile::new(HostileConfig::default())
        .filter(|m| !m.payload.iter().all(u8::is_ascii_whitespace))
        .collect();
    let path = std::env::temp_dir().join(format!("newsflow-hostile-{}.jsonl", std::process::id()));
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for m in &corpus {
            file.write_all(&m.payload)?;
            file.write_all(b"\n")?;
        }
        file.flush()?;
    }
    let out = Command::new(BIN)
        .args(["check", path.to_str().unwrap_or_default()])
        .output()?;
    std::fs::remove_file(&path)?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decisions: Vec<serde_json::Value> = String::from_utf8(out.stdout)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(decisions.len(), corpus.len());
    let mut huge = 0;
    for (m, d) in corpus.iter().zip(&decisions) {
        match &m.expected {
            Expected::Rejected(class) => {
                assert_eq!(d["decision"], "rejected", "{}: {d}", m.key);
                assert_eq!(d["kind"], class.as_str(), "{}: {d}", m.key);
                if m.payload.len() > 5 * 1024 * 1024 {
                    huge += 1;
                }
            }
            Expected::Stored(_) => assert_ne!(d["decision"], "rejected", "{}: {d}", m.key),
        }
    }
    assert_eq!(huge, 3);
    Ok(())
}
