//! `newsflow-feed`: creates topics and produces articles (files, plain text, a synthetic
//! stream with ground truth) into `news.articles.raw`. See `lib.rs`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = newsflow_feed::Cli::parse();
    newsflow_runtime::telemetry::init(&cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(newsflow_feed::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
