//! Evaluate the event coder on the labelled sentence set and print precision/recall per
//! CAMEO root code: `cargo run --release -p newsflow-core --example coding_eval [-- FILE] [--misses]`.

use newsflow_core::coding::Coder;
use newsflow_core::coding::eval::{evaluate, parse_cases};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let default = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/eval/sentences.jsonl"
    );
    let path = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map_or(default, String::as_str);
    let cases = parse_cases(&std::fs::read_to_string(path)?)?;
    let coder = Coder::embedded()?;
    let report = evaluate(&coder, &cases);
    println!("dictionary version {}", coder.dictionary_version());
    print!("{}", report.table());
    if args.iter().any(|a| a == "--misses") {
        for m in &report.misses {
            let text = cases
                .iter()
                .find(|c| c.id == m.id)
                .map_or("", |c| c.text.as_str());
            println!("{} {:8} {:40} | {}", m.id, m.kind, m.event, text);
        }
    }
    Ok(())
}
