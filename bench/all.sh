#!/usr/bin/env bash
# Every row of the performance table (docs/PERFORMANCE.md, issue 15) in one
# run, each against its peer measured in the same run, with the ratio and
# peak memory: start-up, the Go tree as gitleaks reads it and by default,
# the Go tree as an image against trivy, history against gitleaks, and
# scrub end to end. Needs gitleaks (built here from the module proxy) and
# trivy on PATH for the image row (see bench/image.sh); hyperfine for
# start-up when installed, else a shell loop.
# Usage: bench/all.sh      (RUNS=3 bench/all.sh: the median of 3 for each)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
out=bench/out
mkdir -p "$out"
log=$out/all.log
: > "$log"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rows=()
row() { rows+=("$(printf '%-34s %10s %10s %7s %9s' "$@")"); }

# The scan rows: bench/run.sh prints "tool wall user rss findings" lines.
RUNS=$runs bash bench/run.sh >> "$log"
col() { awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$log" | median; }
g=$(col gitleaks-re2 2)
row "GOROOT/src as gitleaks reads it" "$(col secretgate-text 2)" "$g" "$(ratio "$(col secretgate-text 2)" "$g")" "$(col secretgate-text 4) MB"
row "GOROOT/src, binaries and archives" "$(col secretgate 2)" "$g" "$(ratio "$(col secretgate 2)" "$g")" "$(col secretgate 4) MB"

# Start-up: `version`, against gitleaks' own, the same kind of Go CLI.
startup() {
  if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 5 --runs 100 --export-json "$out/startup.json" "$1 version" >/dev/null 2>&1
    python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["mean"] * 1000))' "$out/startup.json"
  else
    local t0 t1
    t0=$(date +%s%N)
    for _ in $(seq 100); do "$1" version >/dev/null; done
    t1=$(date +%s%N)
    awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 100 / 1e6 }'
  fi
}
s=$(startup "$out/secretgate")
p=$(startup "$out/gitleaks-re2")
row "start-up (version), ms" "$s" "$p" "$(ratio "$s" "$p")" "-"

# History: bench/git.sh prints "tool wall user rss findings" lines too.
RUNS=$runs bash bench/git.sh > "$out/git.log"
gcol() { awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$out/git.log" | median; }
row "history (scan git: / gitleaks git)" "$(gcol secretgate 2)" "$(gcol gitleaks-re2 2)" \
  "$(ratio "$(gcol secretgate 2)" "$(gcol gitleaks-re2 2)")" "$(gcol secretgate 4) MB"

# The image row, when trivy is there.
if command -v trivy >/dev/null; then
  for _ in $(seq "$runs"); do bash bench/image.sh; done > "$out/image.log"
  icol() { awk -v t="$1" -v c="$2" '$1 " " $2 == t { print $c }' "$out/image.log" | median; }
  row "Go tree image (trivy: 1 finding)" "$(icol "secretgate image" 3)" "$(icol "trivy image" 3)" \
    "$(ratio "$(icol "secretgate image" 3)" "$(icol "trivy image" 3)")" "$(icol "secretgate image" 4) MB"
else
  rows+=("Go tree image: trivy not on PATH, not measured")
fi

# scrub: 256 MiB, 1,000 secrets, through the CLI; the target is 1 GB/s.
RUNS=$runs bash bench/scrub-cli.sh > "$out/scrub.log"
w=$(awk '$1 == "wall" { sub("s", "", $2); print $2 }' "$out/scrub.log" | median)
size=$(stat -c %s "$out/scrub-cli/log.txt")
rate() { awk -v s="$size" -v w="$1" 'BEGIN { printf "%.2f", s / w / 1e9 }'; }
gbs=$(rate "$w")
rss=$(awk '$1 == "wall" { print $6 }' "$out/scrub.log" | median)
row "scrub 256 MiB, 1,000 secrets, GB/s" "$gbs" "1.00" "$(ratio 1 "$gbs")" "$rss MB"
f=$(awk '$1 == "floor" { sub("s:", "", $2); print $2 }' "$out/scrub.log" | median)
row "  floor: cat into the same file, GB/s" "$(rate "$f")" "-" "-" "-"

echo "$(date -u +%F); $(nproc) cores; medians of $runs runs (wall seconds unless named)"
printf '%-34s %10s %10s %7s %9s\n' row secretgate peer ratio peak_rss
printf '%s\n' "${rows[@]}"
