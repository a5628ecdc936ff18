//! newsflow-feed binary.
fn main() {}
