//! `newsflow-report`: reports over newsflow's Postgres (see `lib.rs`).

use clap::Parser;
use newsflow_report::config::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => newsflow_runtime::service::main(&args.ops.clone(), |shutdown| {
            newsflow_report::server::run(*args, shutdown)
        }),
        Command::Migrate(args) => newsflow_runtime::service::migrate_main(&args),
        command => newsflow_report::cli::main(command),
    }
}
