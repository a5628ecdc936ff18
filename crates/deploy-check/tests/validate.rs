//! The deployment files (Dockerfile, docker-compose.yml, deploy/) pass
//! `scripts/validate-deploy.sh`: real parsers and schema validators, no container engine.

use std::path::Path;
use std::process::Command;

#[test]
fn deployment_files_validate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new("bash")
        .arg(root.join("scripts/validate-deploy.sh"))
        .current_dir(&root)
        .output()
        .expect("bash runs scripts/validate-deploy.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Shown by `cargo test -- --nocapture`, and on failure.
    println!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "scripts/validate-deploy.sh failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("all deployment checks passed"),
        "the manifest checks did not run:\n{stdout}"
    );
}
