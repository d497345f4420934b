#!/usr/bin/env bash
# Builds Tessera (server + bundled plugins) and starts it on the embedded store in ./data,
# listening on 127.0.0.1:5000. Extra arguments go to `tessera serve` (see `tessera serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release -p tessera
exec target/release/tessera serve --data-dir ./data "$@"
