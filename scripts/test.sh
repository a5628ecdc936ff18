#!/usr/bin/env bash
# Runs every check and test of newsflow against the real local stack: brings the stack up
# (installs and starts the broker if needed), then formatting, lints and the whole test suite.
# Exits non-zero on any failure. This is what CI runs (.ci/run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"

scripts/stack.sh up

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check

echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets -q -- -D warnings

echo "== tests" >&2
# Integration tests start service binaries and talk to the broker and Postgres; each test has
# its own topics, consumer group and database, so they run in parallel.
cargo nextest run --workspace --no-fail-fast --failure-output final
