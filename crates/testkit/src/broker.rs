//! A private Kafka-protocol broker (Tansu with its SQLite engine) that a test may stop and
//! restart on the same port and storage file without disturbing the shared one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use newsflow_runtime::config::KafkaArgs;

use crate::{port_open, private_port, unique};

/// The `tansu` binary: `NEWSFLOW_TANSU`, else the first `tansu` on `PATH`, else
/// `~/.cargo/bin/tansu` (where `scripts/stack.sh up` installs it).
fn tansu_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("NEWSFLOW_TANSU") {
        return Ok(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let home = std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin"));
    on_path
        .into_iter()
        .chain(home)
        .map(|dir| dir.join("tansu"))
        .find(|candidate| candidate.is_file())
        .context(
            "the `tansu` broker binary (Tansu 0.6.0) was not found on PATH or in ~/.cargo/bin: \
             install it with `scripts/stack.sh up` (or set NEWSFLOW_TANSU to its path); \
             the broker fault tests need a private broker to stop and restart",
        )
}

/// A Tansu broker of the test's own: its own port (outside the ephemeral range, so it is still
/// free after a stop) and its own directory holding `tansu.db` and `broker.log`. Dropping it
/// kills the broker and removes the directory.
pub struct Broker {
    /// `127.0.0.1:PORT`, for `NEWSFLOW_BROKERS`.
    pub addr: String,
    binary: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
}

impl Broker {
    /// Starts a fresh broker and waits until it accepts connections.
    pub fn start() -> anyhow::Result<Self> {
        let binary = tansu_binary()?;
        let dir = std::env::temp_dir().join(unique("newsflow-tansu"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut broker = Self {
            addr: format!("127.0.0.1:{}", private_port()?),
            binary,
            dir,
            child: None,
        };
        broker.spawn()?;
        Ok(broker)
    }

    /// Client settings for this broker.
    pub fn kafka_args(&self) -> KafkaArgs {
        KafkaArgs {
            brokers: self.addr.clone(),
            properties: Vec::new(),
        }
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("broker.log"))?;
        let url = format!("tcp://{}", self.addr);
        // Tansu resolves the sqlite path relative to its working directory.
        let child = Command::new(&self.binary)
            .current_dir(&self.dir)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "sqlite://tansu.db",
            ])
            // NEWSFLOW_TANSU_LOG (e.g. `tansu_broker::coordinator=debug`) traces the broker
            // for a failing test; its log is in the test's failure message.
            .env(
                "RUST_LOG",
                std::env::var("NEWSFLOW_TANSU_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        self.child = Some(child);
        let addr: SocketAddr = self.addr.parse()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while !port_open(addr) {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!(
                    "the broker exited with {status} at start-up; log:\n{}",
                    self.log_text()
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "the broker did not listen on {} within 30 s; log:\n{}",
                    self.addr,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        add_header_index(&self.dir.join("tansu.db"))
    }

    /// Stops the broker with SIGTERM (SIGKILL if it has not exited after 15 s) and waits until
    /// its port is closed. Its data stays for [`Broker::restart`].
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .context("kill -TERM")?;
        let deadline = Instant::now() + Duration::from_secs(15);
        while child.try_wait()?.is_none() {
            if Instant::now() >= deadline {
                child.kill()?;
                child.wait()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let addr: SocketAddr = self.addr.parse()?;
        if port_open(addr) {
            bail!(
                "{} still accepts connections after the broker stopped",
                self.addr
            );
        }
        Ok(())
    }

    /// Starts the broker again on the same port with the same SQLite file.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.spawn()
    }

    /// The tail of the broker's log, for a failing test's message.
    pub fn log_text(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("broker.log")).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        text.get(start..).unwrap_or(&text).to_owned()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // NEWSFLOW_TANSU_KEEP=1 keeps the directory (SQLite file and whole log) to inspect.
        if std::env::var_os("NEWSFLOW_TANSU_KEEP").is_some() {
            eprintln!("broker directory kept: {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Adds the index Tansu 0.6.0's schema lacks (`scripts/tansu-index.py`, which says why), as
/// `scripts/stack.sh` does for the shared broker, so private brokers behave like it.
fn add_header_index(db: &Path) -> anyhow::Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/tansu-index.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(db)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
