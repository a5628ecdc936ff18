//! `newsflow-extract`: codes events from articles and merges every report of them (see `lib.rs`).

use clap::Parser;
use newsflow_extract::config::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Code(args) => newsflow_extract::code::main(&args),
        Command::Run(args) => newsflow_runtime::service::main(&args.ops.clone(), |shutdown| {
            newsflow_extract::run(*args, shutdown)
        }),
        Command::Migrate(args) => newsflow_runtime::service::migrate_main(&args),
    }
}
