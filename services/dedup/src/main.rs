//! `newsflow-dedup`: validates, normalises and deduplicates raw articles (see `lib.rs`).

use clap::Parser;
use newsflow_dedup::config::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => newsflow_dedup::check::main(&args),
        Command::Run(args) => newsflow_runtime::service::main(&args.ops.clone(), |shutdown| {
            newsflow_dedup::run(*args, shutdown)
        }),
        Command::Migrate(args) => newsflow_runtime::service::migrate_main(&args),
    }
}
