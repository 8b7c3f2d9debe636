#!/usr/bin/env bash
# Times secretgate scan against the gitleaks CLI (release engine, and Go's
# regexp engine with ENGINES=all) on $(go env GOROOT)/src, side by side in
# one run. Prints wall time, user CPU and peak memory for each, RUNS times.
# Usage: bench/run.sh [CORPUS]    (RUNS=5 ENGINES=all bench/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-$(go env GOROOT)/src}
runs=${RUNS:-5}
out=bench/out
mkdir -p "$out"
CGO_ENABLED=0 go build -trimpath -o "$out/secretgate" .
# The peer as its release builds it: from its own go.mod (go-re2 v1.9.0),
# not with this module's newer go-re2.
GOBIN="$PWD/$out/peer" CGO_ENABLED=0 go install -trimpath -tags gore2regex github.com/zricethezav/gitleaks/v8@v8.30.1
mv "$out/peer/gitleaks" "$out/gitleaks-re2"
tools=(secretgate secretgate-text gitleaks-re2)
if [ "${ENGINES:-}" = all ]; then
  CGO_ENABLED=0 go build -trimpath -o "$out/gitleaks-stdlib" github.com/zricethezav/gitleaks/v8
  tools+=(gitleaks-stdlib)
fi
cmd() {
  case $1 in
    secretgate) echo "$out/secretgate scan --quiet --format json $corpus" ;;
    # what gitleaks dir reads: text files only, archives closed
    secretgate-text) echo "$out/secretgate scan --quiet --format json --no-binaries --max-archive-depth 0 $corpus" ;;
    *) echo "$out/$1 dir $corpus --no-banner --log-level error --exit-code 0 --report-format json --report-path $out/$1.json" ;;
  esac
}
echo "corpus: $corpus ($(du -sh "$corpus" | cut -f1)); $(nproc) cores; $(date -u +%F)"
printf '%-16s %8s %8s %10s %9s\n' tool wall_s user_s max_rss_MB findings
for i in $(seq "$runs"); do
  for t in "${tools[@]}"; do
    /usr/bin/time -f '%e %U %M' -o "$out/time" $(cmd "$t") > "$out/$t.out" 2>/dev/null || true
    read -r wall user rss < <(tail -n 1 "$out/time")
    if [ "${t%%-*}" = secretgate ]; then
      n=$(grep -c '"fingerprint"' "$out/$t.out" || true)
    else
      n=$(grep -c '"RuleID"' "$out/$t.json" || true)
    fi
    printf '%-16s %8s %8s %10d %9s\n' "$t" "$wall" "$user" $((rss / 1024)) "$n"
  done
done
