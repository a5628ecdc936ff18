//! Shared helpers of the report tests: a fresh migrated database loaded with the known
//! fixture (`fixture.sql`), the binary, and a running `serve`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use newsflow_testkit::{Service, TestDb, free_port};

pub const BIN: &str = env!("CARGO_BIN_EXE_newsflow-report");

/// Two stories, five articles, six events, nine mentions, three rejected messages.
pub const FIXTURE: &str = include_str!("fixture.sql");

/// RUSGOV → PRKGOV 057 on 2024-06-19: the treaty signing, 3 mentions from 2 outlets.
pub const TREATY: &str = "5f0c1d2e3a4b5c6d7e8f901a2b3c4d5e";
/// RUSGOV → PRKGOV 042 on 2024-06-19: the state visit, mentioned by AP and its Yahoo copy.
pub const VISIT: &str = "9a8b7c6d5e4f30211203a4b5c6d7e8f9";
/// USAGOV → KORGOV 040 on 2024-06-20 in Seoul.
pub const TALKS: &str = "0b1c2d3e4f5061728394a5b6c7d8e9f0";
/// KORGOV → RUSGOV 111 on 2024-06-20.
pub const CRITICISM: &str = "1c2d3e4f5061728394a5b6c7d8e9f0a1";
/// USAGOV → PRKGOV 163 on 2024-06-21, no place.
pub const SANCTIONS: &str = "2d3e4f5061728394a5b6c7d8e9f0a1b2";
/// PRKMIL (no target) 190 on 2024-05-30.
pub const ARTILLERY: &str = "3e4f5061728394a5b6c7d8e9f0a1b2c3";

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
