//! Code a text file and print every mention (asserted and dropped), for inspection:
//! `cargo run -p newsflow-core --example coding_dump -- FILE [YYYY-MM-DD] [--all]`.

use newsflow_core::coding::{Coder, Document, Status};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: coding_dump FILE [YYYY-MM-DD] [--all]")?;
    let date = args
        .get(2)
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let all = args.iter().any(|a| a == "--all");
    let text = std::fs::read_to_string(path)?;
    let coder = Coder::embedded()?;
    let doc = Document {
        title: None,
        text: &text,
        published: date,
    };
    let mut ids = std::collections::BTreeSet::new();
    for m in coder.code_with_dropped(&doc) {
        if m.status != Status::Asserted && !all {
            continue;
        }
        let x = &m.mention;
        if m.status == Status::Asserted {
            ids.insert(x.event_id());
        }
        println!(
            "[{:?}] s{} {} -> {} {} ({}) {} {} place={} conf={} | {} | {}",
            m.status,
            x.sentence_no,
            x.source.code,
            x.target.as_ref().map_or("-", |t| t.code.as_str()),
            x.cameo,
            x.plover,
            x.date,
            x.date_source,
            x.place.as_ref().map_or("-", |p| p.country.as_str()),
            x.confidence,
            x.action_text,
            &x.event_id()[..8],
        );
    }
    println!("distinct asserted events: {}", ids.len());
    Ok(())
}
