//! Holds no code: this crate exists so that `cargo test` validates the deployment files.
//!
//! Its test (`tests/validate.rs`) runs `scripts/validate-deploy.sh`, which lints the
//! Dockerfile, parses `docker-compose.yml` with docker-compose and the compose-spec schema,
//! validates `deploy/k8s/` against the Kubernetes and CRD schemas, and checks the Grafana
//! dashboard and the alert rules. The script installs its own tools with pip.
