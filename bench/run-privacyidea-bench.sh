#!/usr/bin/env bash
# Runs the privacyIDEA anchor bench (shared/anchors/privacyidea/bench.sh, unchanged) against Tessera:
# a fresh data dir, PIN hashing equal to privacyIDEA's PI_FAST_HASH (argon2id t=1, m=1 MiB, p=1),
# admin/adminpass, `tessera serve` on an ephemeral loopback port. Prints bench.sh's RESULT lines.
# Usage: bench/run-privacyidea-bench.sh [DURATION_S] [CONCURRENCIES]     (defaults: 15 "1 8 32")
# Env:   BENCH_SH (default /work/shared/anchors/privacyidea/bench.sh), TESSERA_BIN (skip the build),
#        PHASES (passed through to bench.sh, default "wrong ok auth"), RESULTS (a file to append the
#        RESULT lines to; by default a temporary file removed at exit).
# Needs what bench.sh needs: wrk, curl, jq, python3.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_SH=${BENCH_SH:-/work/shared/anchors/privacyidea/bench.sh}
DUR=${1:-15}
CONCS=${2:-"1 8 32"}
[[ -f $BENCH_SH ]] || { echo "bench.sh not found at $BENCH_SH" >&2; exit 2; }

if [[ -z "${TESSERA_BIN:-}" ]]; then
  (cd "$ROOT" && cargo build --release -p tessera --quiet)
  TESSERA_BIN=$ROOT/target/release/tessera
fi

WORK=$(mktemp -d /tmp/tessera-pibench.XXXX)
SERVER_PID=""
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/config.toml" <<'EOF'
# privacyIDEA's PI_FAST_HASH: argon2id t=1, m=1 MiB, p=1
[pin_hash]
t_cost = 1
m_cost_kib = 1024
p_cost = 1
EOF
mkdir "$WORK/data"
echo adminpass | "$TESSERA_BIN" admin add admin --data-dir "$WORK/data" --config "$WORK/config.toml" >/dev/null

"$TESSERA_BIN" serve --data-dir "$WORK/data" --listen 127.0.0.1:0 --config "$WORK/config.toml" \
  > "$WORK/stdout" 2> "$WORK/server.log" &
SERVER_PID=$!
BASE=""
for _ in $(seq 1 600); do
  BASE=$(sed -n 's/^tessera listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$WORK/stdout" | head -1)
  [[ -n $BASE ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "tessera serve exited:" >&2; cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n $BASE ]] || { echo "tessera serve did not start within 60 s" >&2; cat "$WORK/server.log" >&2; exit 1; }
echo "# tessera pid $SERVER_PID at $BASE, data $WORK/data"

# bench.sh prints its sanity line and one RESULT line per run (and appends them to $RESULTS).
export SERVER_PID RESULTS=${RESULTS:-$WORK/results.txt}
bash "$BENCH_SH" "$BASE" "$DUR" "$CONCS"
