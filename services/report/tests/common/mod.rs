//! Shared helpers of the report tests: a fresh migrated database loaded with the known
//! fixture (`fixture.sql`, what the real pipeline makes of `tests/data/corpus.jsonl`, built by
//! scripts/report-fixture.sh), the binary, and a running `serve`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use newsflow_testkit::{Service, TestDb, free_port};

pub const BIN: &str = env!("CARGO_BIN_EXE_newsflow-report");

/// The corpus through dedup and extract: five stories, seven articles (the seed sample, its
/// syndicated copy on wire.example, four wire reports and an exact re-post of one), 23 events
/// with 48 mentions, and two rejected messages.
pub const FIXTURE: &str = include_str!("fixture.sql");

/// PRKGOV <-> RUSGOV 057 on 2024-06-19 in Seoul: the treaty signing, one event for both sides
/// (a signing is symmetric: canonical order, PRK before RUS), 3 mentions in the seed sample
/// and 3 in its syndicated copy.
pub const TREATY: &str = "404c93c43189b5c67402090205677d7f";
/// RUSGOV -> PRK 052 on 2024-06-19: Putin defended North Korea (seed sample and its copy).
pub const DEFENDED: &str = "fee655a0f06b9b8a28de2f76d4c2f71e";
/// KORGOV <-> USAGOV 040 on 2024-06-20 in Seoul: Blinken's talks (headline and lead).
pub const TALKS: &str = "b692b634f2822b3aa91bbfdad30c6e99";
/// KOR -> RUS 111 on 2024-06-20 in Seoul: South Korea criticized Russia.
pub const CRITICISM: &str = "da8b7600795a95dbcab161064d2208d4";
/// KORMIL 010 on 2024-06-20: South Korea's military said (the artillery report).
pub const MILITARY_SAYS: &str = "327fa1782ee443e330accdb23b7fb78e";
/// USA -> PRK 163 on 2024-06-21 in Washington: new sanctions, 2 mentions in the AP report and
/// 2 in its exact re-post.
pub const SANCTIONS: &str = "0fce2f1d0bc51473c667e39010c2df45";
/// JPN -> PHL 073 on 2024-06-22 in Tokyo: humanitarian aid (material cooperation).
pub const AID: &str = "b4ebe2316d1e7785c9826b5291e04717";
/// PRKMIL 194 (no target) on 2024-05-30, located in North Korea only (a country).
pub const ARTILLERY: &str = "ebc9b53563e9f579752557b7023201f8";

/// A fresh migrated database with the fixture loaded.
pub async fn fixture_db() -> anyhow::Result<TestDb> {
    let db = TestDb::new().await?;
    sqlx::raw_sql(FIXTURE).execute(&db.pool).await?;
    Ok(db)
}

/// Runs the binary with `DATABASE_URL` set to `url`.
pub fn run(url: &str, args: &[&str]) -> anyhow::Result<Output> {
    Ok(Command::new(BIN)
        .args(args)
        .env_clear()
        .env("DATABASE_URL", url)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()?)
}

/// Runs the binary and parses its JSON output, failing with its stderr otherwise.
pub fn run_json(url: &str, args: &[&str]) -> anyhow::Result<serde_json::Value> {
    let out = run(url, args)?;
    anyhow::ensure!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// `newsflow-report serve` running against `url`.
pub struct Server {
    pub service: Service,
    pub addr: SocketAddr,
}

impl Server {
    pub fn start(url: &str) -> anyhow::Result<Self> {
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        let mut service = Service::start(
            std::path::Path::new(BIN),
            &["serve", "--listen", &listen],
            &[("DATABASE_URL", url.to_owned())],
        )?;
        service.wait_ready(Duration::from_secs(30))?;
        Ok(Self {
            service,
            addr: listen.parse()?,
        })
    }

    /// GET `path`: status and body.
    pub fn get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        newsflow_testkit::http_get(self.addr, path)
    }

    /// GET `path` expecting 200 and JSON.
    pub fn get_json(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let (status, body) = self.get(path)?;
        anyhow::ensure!(status == 200, "GET {path}: {status} {body}");
        Ok(serde_json::from_str(&body)?)
    }
}

/// Installs Chromium and the DejaVu fonts when missing (scripts/ensure-chromium.sh).
pub fn ensure_chromium_and_fonts() -> anyhow::Result<()> {
    let script = repo_root().join("scripts/ensure-chromium.sh");
    let status = Command::new("bash").arg(&script).status()?;
    anyhow::ensure!(status.success(), "{} failed", script.display());
    Ok(())
}

/// The repository root (for scripts/).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Share of pixels of an RGB(A) PNG that are not (almost) white, and the pixel count close to
/// `color`.
pub fn png_stats(bytes: &[u8], color: [u8; 3]) -> anyhow::Result<(u32, u32, f64, usize)> {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf)?;
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => anyhow::bail!("unexpected PNG colour type {other:?}"),
    };
    anyhow::ensure!(
        info.bit_depth == png::BitDepth::Eight,
        "unexpected bit depth"
    );
    let pixels = buf[..info.buffer_size()].chunks_exact(channels);
    let total = (info.width * info.height) as f64;
    let mut non_white = 0usize;
    let mut matching = 0usize;
    for p in pixels {
        if p[0] < 235 || p[1] < 235 || p[2] < 235 {
            non_white += 1;
        }
        if p[..3].iter().zip(color).all(|(a, b)| a.abs_diff(b) <= 12) {
            matching += 1;
        }
    }
    Ok((info.width, info.height, non_white as f64 / total, matching))
}
