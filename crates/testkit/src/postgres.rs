//! A private Postgres cluster (`initdb` into a temporary directory, trust authentication) that a
//! test may crash, stop and start without disturbing the shared server.

use std::path::PathBuf;
use std::process::{Command, Output};

use anyhow::{Context as _, bail};

use crate::{private_port, unique};

/// The directory of the Postgres server binaries: `NEWSFLOW_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin` holding `initdb` (Debian's layout), else `PATH`.
fn pg_bin(tool: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("NEWSFLOW_PG_BIN") {
        return PathBuf::from(dir).join(tool);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, dir)) => dir.join(tool),
        None => PathBuf::from(tool),
    }
}

/// True when this process runs as root: Postgres refuses to run as root, so its tools then
/// run as the `postgres` OS user.
fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A Postgres cluster of the test's own on 127.0.0.1, its socket and data in a temporary
/// directory. Dropping it stops the server (immediate mode) and removes the directory.
pub struct PgCluster {
    pub port: u16,
    dir: PathBuf,
    as_root: bool,
}

impl PgCluster {
    /// Creates the cluster (`initdb`, trust authentication, superuser `postgres`) and starts it.
    pub fn start() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(unique("newsflow-pg"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let cluster = Self {
            port: private_port()?,
            dir,
            as_root: running_as_root(),
        };
        if cluster.as_root {
            cluster.check(
                Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&cluster.dir)
                    .output(),
                "chown postgres",
            )?;
        }
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "--no-instructions",
            ],
        )?;
        cluster.start_server()?;
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// A superuser URL of the cluster's `postgres` database (for [`crate::TestDb::on`]).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs a server tool, as the `postgres` OS user when we are root.
    fn run(&self, tool: &str, args: &[&str]) -> anyhow::Result<Output> {
        let bin = pg_bin(tool);
        let mut cmd = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        cmd.args(args).current_dir(&self.dir);
        self.check(
            cmd.output(),
            &format!("{} {}", bin.display(), args.join(" ")),
        )
    }

    fn check(&self, output: std::io::Result<Output>, what: &str) -> anyhow::Result<Output> {
        let output = output.with_context(|| format!("running {what}"))?;
        if !output.status.success() {
            bail!(
                "{what} failed ({}):\n{}{}\nserver log:\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                self.log_text()
            );
        }
        Ok(output)
    }

    /// Starts the server (after [`PgCluster::stop`]) and waits until it accepts connections.
    pub fn start_server(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        )?;
        Ok(())
    }

    /// Stops the server: `fast` (clients disconnected, clean shutdown) or `immediate` (no
    /// shutdown checkpoint: the next start runs crash recovery, like after a power cut).
    pub fn stop(&self, mode: &str) -> anyhow::Result<()> {
        self.run("pg_ctl", &["-D", &self.data(), "-m", mode, "-w", "stop"])?;
        Ok(())
    }

    /// The tail of the server log.
    pub fn log_text(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        text.get(start..).unwrap_or(&text).to_owned()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.stop("immediate");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
