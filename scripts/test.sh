#!/usr/bin/env bash
# Runs every Tessera test: unit tests of all crates (plugins natively too), the plugins through the
# wasm runtime, and the end-to-end tests against the real `tessera` binary over HTTP.
# Everything builds once, in the release profile, in ./target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release -p tessera          # the e2e tests start this binary
cargo test --release --workspace "$@"
