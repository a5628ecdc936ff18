//! The HTML page in headless Chromium: a screenshot that shows the charts and a DOM that
//! carries the fixture's data (what the real pipeline makes of `tests/data/corpus.jsonl`).
//! Chromium is installed by scripts/ensure-chromium.sh when missing; nothing here is skipped.

mod common;

use std::process::Command;

use common::{Server, TREATY, fixture_db, png_stats};

/// Runs Debian's chromium headless with the flags that keep it quiet and self-contained.
fn chromium(
    url: &str,
    profile: &std::path::Path,
    extra: &[String],
) -> anyhow::Result<std::process::Output> {
    let mut cmd = Command::new("/usr/bin/chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(url);
    Ok(cmd.output()?)
}

#[tokio::test]
async fn html_page_renders_charts_and_data_in_headless_chromium() -> anyhow::Result<()> {
    common::ensure_chromium_and_fonts()?;

    let db = fixture_db().await?;
    let server = Server::start(&db.url)?;
    let url = format!("http://{}/?from=2024-06-15&to=2024-06-25", server.addr);
    let work = std::env::temp_dir().join(newsflow_testkit::unique("chromium"));
    std::fs::create_dir_all(&work)?;
    let shot = work.join("page.png");

    let out = chromium(
        &url,
        &work.join("profile-shot"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,1600".into(),
        ],
    )?;
    anyhow::ensure!(
        shot.exists(),
        "no screenshot; chromium said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot)?;
    // The dyads chart's cooperative green (and the timeline's line) must be on the page: the
    // charts were fetched and drawn, not just their frames.
    let (width, height, non_white, green) = png_stats(&png, [46, 139, 87])?;
    assert_eq!((width, height), (1280, 1600));
    assert!(non_white > 0.05, "only {non_white:.3} of the page is drawn");
    assert!(
        green > 2000,
        "the charts' data colour covers only {green} pixels"
    );
    let (_, _, _, red) = png_stats(&png, [200, 30, 40])?;
    assert!(red > 500, "conflictual bars missing ({red} pixels)");

    let out = chromium(&url, &work.join("profile-dom"), &["--dump-dom".into()])?;
    let dom = String::from_utf8(out.stdout)?;
    for needle in [
        "RUSGOV",
        "PRKGOV",
        "057",
        TREATY,
        "seed.example wire.example",
        "invalid_json",
        "near_duplicate",
    ] {
        assert!(
            dom.contains(needle),
            "{needle} missing from the rendered DOM"
        );
    }
    for id in ["chart-timeline", "chart-dyads", "chart-actors"] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    // Keep the screenshot for a person to look at when the test runs by hand.
    if let Ok(dir) = std::env::var("NEWSFLOW_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, std::path::Path::new(&dir).join("report-page.png"))?;
    }
    std::fs::remove_dir_all(&work).ok();
    drop(server);
    db.drop_db().await
}
