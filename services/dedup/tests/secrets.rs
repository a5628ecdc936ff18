//! Secrets (the database password, Kafka SASL/TLS passwords) never appear in what a service
//! prints: `--help`, start-up errors, its logs at debug level, or its admin endpoints.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{BIN, Stack, poison, synthetic};
use newsflow_testkit::produce;

const DB_SECRET: &str = "DbSecret-7f3a";
const SASL_SECRET: &str = "SaslSecret-91c2";
const KEY_SECRET: &str = "KeySecret-55e0";

fn assert_no_secret(what: &str, text: &str) {
    for secret in [DB_SECRET, SASL_SECRET, KEY_SECRET] {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

/// `user:password@` in the URL; trust authentication on the test cluster ignores it.
fn url_with_password(url: &str) -> String {
    url.replacen(
        "postgres://postgres@",
        &format!("postgres://postgres:{DB_SECRET}@"),
        1,
    )
}

#[test]
fn help_and_start_up_errors_hide_secrets() -> anyhow::Result<()> {
    let env = [
        (
            "DATABASE_URL",
            format!("postgres://newsflow:{DB_SECRET}@127.0.0.1:5432/x"),
        ),
        (
            "NEWSFLOW_KAFKA_PROPERTIES",
            format!("sasl.password={SASL_SECRET},ssl.key.password={KEY_SECRET}"),
        ),
    ];
    let help = Command::new(BIN)
        .args(["run", "--help"])
        .envs(env.clone())
        .output()?;
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("DATABASE_URL"), "{text}");
    assert_no_secret("--help", &text);

    // Start-up refusals that quote the setting: a wrong scheme, a mistyped property.
    for (key, value) in [
        (
            "DATABASE_URL",
            format!("mysql://newsflow:{DB_SECRET}@127.0.0.1/x"),
        ),
        (
            "NEWSFLOW_KAFKA_PROPERTIES",
            format!("sasl.password:{SASL_SECRET}"),
        ),
    ] {
        let out = Command::new(BIN)
            .arg("run")
            .envs(env.clone())
            .env(key, &value)
            .env("NEWSFLOW_ADMIN_ADDR", "127.0.0.1:0")
            .output()?;
        assert!(!out.status.success(), "{key} accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(key), "the error names {key}: {stderr}");
        assert_no_secret(key, &stderr);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_service_never_logs_or_exports_secrets() -> anyhow::Result<()> {
    let stack = Stack::new(2).await?;
    let (mut inputs, _) = synthetic(5, 60, 150);
    inputs.extend(poison().into_iter().map(|(bytes, _)| bytes));
    produce(stack.topic("raw"), &inputs).await?;
    // Secret librdkafka properties a SASL_SSL deployment sets; on the local PLAINTEXT
    // listener librdkafka accepts and ignores them.
    let mut service = stack.start(&[
        ("DATABASE_URL", url_with_password(&stack.db.url)),
        (
            "NEWSFLOW_KAFKA_PROPERTIES",
            format!(
                "sasl.username=newsflow,sasl.password={SASL_SECRET},ssl.key.password={KEY_SECRET},debug=conf"
            ),
        ),
        // Everything newsflow logs, and librdkafka's own configuration dump (debug=conf).
        ("RUST_LOG", "debug,rdkafka=debug".to_owned()),
    ])?;
    stack
        .wait_accounted(inputs.len() as i64, Duration::from_secs(120))
        .await?;
    for path in ["/metrics", "/readyz", "/healthz"] {
        let (_, body) = newsflow_testkit::http_get(service.admin, path)?;
        assert_no_secret(path, &body);
    }
    assert_eq!(service.terminate(Duration::from_secs(30))?, Some(0));
    let log = service.full_log();
    // librdkafka's configuration dump is in the log, with the secret properties redacted.
    assert!(
        log.contains("sasl.password = [redacted]"),
        "no librdkafka configuration dump in the log"
    );
    assert_no_secret("the log", &log);
    stack.db.drop_db().await
}
