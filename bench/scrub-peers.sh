#!/usr/bin/env bash
# Streams the same 8 MiB log, in 4 KiB writes, with every form of 10 / 100 /
# 1,000 / 4,000 secrets as needles, through secretgate's scrubber and through
# Buildkite's redactors (the agent's internal/replacer, and the Boyer-Moore
# redactor its tests keep for comparison), in one run.
# The agent's source comes from the Go module proxy; its package is copied to
# a temporary module with bench/testdata/peers/peers_bench_test.go, so none of
# it is part of secretgate. GitLab's runner (whose masker the issue cites)
# is not served by the proxy, so it cannot be measured here.
# Usage: bench/scrub-peers.sh        (COUNT=3 bench/scrub-peers.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-3}
agent=github.com/buildkite/agent/v3@v3.138.3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go run ./bench/scrubload "$work"
# The agent's go.mod asks for a newer Go than this one; only its source is
# needed, which the download leaves in the module cache all the same.
(cd "$work" && go mod init tmp >/dev/null 2>&1 && go mod download "$agent" 2>/dev/null) || true
src=$(go env GOMODCACHE)/${agent%@*}@${agent#*@}/internal/replacer
[ -d "$src" ] || { echo "scrub-peers: $agent did not download" >&2; exit 1; }
mkdir -p "$work/peer/replacer"
cp "$src"/replacer.go "$src"/mux.go "$src"/bm_redactor_test.go "$src"/big_lipsum_test.go "$work/peer/replacer/"
cp bench/testdata/peers/peers_bench_test.go "$work/peer/replacer/"
chmod -R u+w "$work/peer"
printf 'module peer\n\ngo 1.26\n' > "$work/peer/go.mod"
echo "$(date -u +%F); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
go test ./internal/scrub -run XXX -bench 'Scrub/' -count "$count"
(cd "$work/peer" && SCRUBLOAD="$work" go test ./replacer -run XXX -bench Peers -count "$count")
