#!/usr/bin/env bash
# Times `secretgate scrub` end to end (start-up, resolving 1,000 secrets from
# the environment, building the matcher, masking, writing) on a 256 MiB build
# log that holds them: the log of BenchmarkScrub, 32 times over.
# Usage: bench/scrub-cli.sh      (RUNS=3 N=1000 bench/scrub-cli.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
n=${N:-1000}
out=bench/out/scrub-cli
mkdir -p "$out"
CGO_ENABLED=0 go build -trimpath -o "$out/secretgate" .
go run ./bench/scrubload "$out" >/dev/null
for i in $(seq 32); do cat "$out/log-$n.txt"; done > "$out/log.txt"
size=$(stat -c %s "$out/log.txt")
# The secrets, as a step holds them: environment variables S0..S(n-1).
args=()
while IFS= read -r line; do
  name=${line%%=*}
  export "$line"
  args+=(--known-env "$name")
done < <(go run ./bench/scrubload -env "$n")
# rate prints how fast the log went through in $1 seconds.
rate() { awk -v s="$size" -v w="$1" 'BEGIN { printf "%.2f GB/s", s / w / 1e9 }'; }
echo "log: $((size >> 20)) MiB, $n secrets; $(nproc) cores; $(date -u +%F)"
for i in $(seq "$runs"); do
  # The last run's 256 MiB of output (and the log, on the first) are still
  # being written back to disk: let that finish first, not during the run.
  sync
  /usr/bin/time -f '%e %U %M' -o "$out/time" "$out/secretgate" scrub "${args[@]}" < "$out/log.txt" > "$out/scrubbed.txt"
  read -r wall user rss < "$out/time"
  masked=$(grep -o '\*\*\*' "$out/scrubbed.txt" | wc -l)
  echo "wall ${wall}s user ${user}s max_rss $((rss / 1024)) MB: $(rate "$wall"), $masked masks"
  # The floor on this machine at this moment: the same bytes copied into
  # the same file by cat, with no masking. The machine's speed drifts by
  # the hour (other tenants), and this shows by how much.
  sync
  /usr/bin/time -f '%e' -o "$out/time" cat "$out/log.txt" > "$out/scrubbed.txt"
  read -r floor < "$out/time"
  echo "floor ${floor}s: $(rate "$floor") (cat into the same file)"
done
