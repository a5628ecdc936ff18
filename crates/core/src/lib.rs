//! newsflow's pure domain logic: turning raw scraper JSON into articles, recognising
//! duplicates, generating labelled synthetic streams, coding events and clustering stories. No I/O, no tokio.

pub mod article;
pub mod coding;
pub mod dedup;
pub mod messages;
pub mod shortlist;
pub mod stories;
pub mod synth;
pub mod tally;
