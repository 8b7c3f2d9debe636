#!/usr/bin/env bash
# Times `secretgate scan git:` against `gitleaks git` (release engine) on a
# generated repository of a few hundred commits of real source
# (bench/gitrepo.sh), side by side in one run. Prints wall time, user CPU,
# peak memory and findings for each, RUNS times.
# Usage: bench/git.sh [REPO]    (RUNS=5 bench/git.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
# _history: the go tool skips directories starting with _, so the Go files
# in this repository stay out of ./... (vet, staticcheck, go mod tidy).
repo=${1:-$out/_history}
[ -d "$repo/.git" ] || bash bench/gitrepo.sh "$repo" "${COMMITS:-300}"
runs=${RUNS:-5}
CGO_ENABLED=0 go build -trimpath -o "$out/secretgate" .
# The peer as its release builds it: from its own go.mod (go-re2 v1.9.0),
# not with this module's newer go-re2.
GOBIN="$PWD/$out/peer" CGO_ENABLED=0 go install -trimpath -tags gore2regex github.com/zricethezav/gitleaks/v8@v8.30.1
mv "$out/peer/gitleaks" "$out/gitleaks-re2"
echo "repository: $repo ($(git -C "$repo" rev-list --all | wc -l) commits, $(du -sh "$repo/.git" | cut -f1) .git); $(nproc) cores; $(date -u +%F)"
printf '%-16s %8s %8s %10s %9s\n' tool wall_s user_s max_rss_MB findings
for i in $(seq "$runs"); do
  for t in secretgate gitleaks-re2; do
    if [ "$t" = secretgate ]; then
      set -- "$out/secretgate" scan --quiet --format json "git:$repo"
    else
      set -- "$out/gitleaks-re2" git "$repo" --no-banner --log-level error --exit-code 0 --report-format json --report-path "$out/$t.json"
    fi
    /usr/bin/time -f '%e %U %M' -o "$out/time" "$@" > "$out/$t.out" 2>/dev/null || true
    read -r wall user rss < <(tail -n 1 "$out/time")
    if [ "$t" = secretgate ]; then n=$(grep -c '"fingerprint"' "$out/$t.out" || true); else n=$(grep -c '"RuleID"' "$out/$t.json" || true); fi
    printf '%-16s %8s %8s %10d %9s\n' "$t" "$wall" "$user" $((rss / 1024)) "$n"
  done
done
