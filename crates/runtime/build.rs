//! Rebuilds the runtime crate when a migration changes, so the embedded MIGRATOR is current.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
