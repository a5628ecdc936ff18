//! newsflow-dedup binary.
fn main() {}
