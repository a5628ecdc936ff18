//! newsflow's pure domain logic: turning raw scraper JSON into articles, recognising
//! duplicates, generating labelled synthetic streams and coding events. No I/O, no tokio.

pub mod article;
pub mod coding;
pub mod dedup;
pub mod messages;
pub mod synth;
