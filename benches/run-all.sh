#!/usr/bin/env bash
# Reruns every benchmark of the project and prints one line per figure.
# Run with: bash benches/run-all.sh [runs]   (default 3 runs of fire_lag)
# Needs MariaDB on 127.0.0.1:3306 for the MySQL figures (bash .ci/ensure-mariadb.sh).
# Release builds; on 2 cores the first build takes several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-3}"

cargo build -q --release -p scheduler-benches --features peers --benches
cargo build -q --release -p scheduler-server
cargo build -q --release -p scheduler-server --example http_bench

echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r)"
for run in $(seq 1 "$RUNS"); do
  echo "# fire_lag run $run"
  FIRE_LAG_SECS="${FIRE_LAG_SECS:-20}" cargo bench -q -p scheduler-benches --features peers --bench fire_lag
done
cargo bench -q -p scheduler-benches --bench scale
cargo bench -q -p scheduler-benches --bench store_ops
SOAK_SECS="${SOAK_SECS:-600}" cargo bench -q -p scheduler-benches --bench memory_soak
cargo bench -q -p scheduler-benches --bench mysql_throughput
FIRE_LAG_STORE=mysql FIRE_LAG_N=2000,5000,10000 FIRE_LAG_IMPLS=chronoflow cargo bench -q -p scheduler-benches --bench fire_lag
SERVER_FIRE_LAG_STORE=memory,mysql SERVER_FIRE_LAG_N=2000,5000 cargo bench -q -p scheduler-benches --bench server_fire_lag
cargo run -q --release -p scheduler-server --example http_bench
