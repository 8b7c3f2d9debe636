#!/usr/bin/env bash
# Scans a ~1 GiB tar.gz of real source (COPIES copies of $(go env GOROOT)/src,
# packed here) and the same files unpacked, and prints both speeds.
# Usage: bench/archive.sh          (COPIES=8 RUNS=2 bench/archive.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
copies=${COPIES:-8}
runs=${RUNS:-2}
out=bench/out
mkdir -p "$out"
src=$(go env GOROOT)/src
CGO_ENABLED=0 go build -trimpath -o "$out/secretgate" .
tgz=$out/goroot-x$copies.tar.gz
if [ ! -s "$tgz" ]; then
  rm -f "$out/big.tar"
  for i in $(seq "$copies"); do
    tar -rf "$out/big.tar" --transform "s,^src,copy$i," -C "$(dirname "$src")" src
  done
  gzip -1 -c "$out/big.tar" > "$tgz"
  rm -f "$out/big.tar"
fi
dirs=()
for i in $(seq "$copies"); do dirs+=("$src"); done
echo "$(date -u +%F); $(nproc) cores; $tgz: $(du -h "$tgz" | cut -f1) compressed"
printf '%-10s %8s %10s %8s\n' what wall_s read_MB MB/s
for i in $(seq "$runs"); do
  for what in tar.gz directory; do
    if [ "$what" = tar.gz ]; then args=("$tgz"); else args=("${dirs[@]}"); fi
    /usr/bin/time -f '%e' -o "$out/time" "$out/secretgate" scan --format json "${args[@]}" > "$out/scan.json" 2>/dev/null || true
    wall=$(tail -n 1 "$out/time")
    bytes=$(grep -o '"bytes": [0-9]*' "$out/scan.json" | tail -1 | grep -o '[0-9]*')
    if [ "$what" = tar.gz ]; then bytes=$((copies * $(du -sb "$src" | cut -f1))); fi
    printf '%-10s %8s %10d %8.0f\n' "$what" "$wall" $((bytes / 1000000)) "$(echo "$bytes / 1000000 / $wall" | bc -l)"
  done
done
