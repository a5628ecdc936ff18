//! `newsflow-dedup check FILE`: the service's normalisation and duplicate logic over a JSONL
//! file, offline, one JSON decision per input article in input order.

use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;

use newsflow_core::dedup::Checker;

use crate::config::CheckArgs;

/// Runs the checker; exit code 1 on I/O errors or bad settings (not on rejected articles).
pub fn main(args: &CheckArgs) -> ExitCode {
    let (params, limits) = match args.dedup.params() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let input = match newsflow_runtime::input::open(&args.file) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match check(input, &mut out, Checker::new(params, limits)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Classifies every non-blank line of `input`, writing one JSON line each to `out`.
/// Lines are read as bytes, so invalid UTF-8 is reported per line instead of aborting.
pub fn check(
    mut input: impl BufRead,
    out: &mut impl Write,
    mut checker: Checker,
) -> std::io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let decision = checker.check_line(&line);
        serde_json::to_writer(&mut *out, &decision)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
