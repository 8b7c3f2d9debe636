#!/usr/bin/env bash
# gitrepo.sh DIR [COMMITS]: makes a repository of real source nobody here
# wrote, for the history parity test and benchmark: files of
# $(go env GOROOT)/src (every file gitleaks finds something in, and others)
# added a few at a time over COMMITS commits (300), with some deleted, some
# edited and some re-added later, so that secrets live on in history only.
set -euo pipefail
dir=$1
commits=${2:-300}
src="$(go env GOROOT)/src"
mkdir -p "$dir"
cd "$dir"
git init -q -b main
git config user.name bench
git config user.email bench@example.com
git config commit.gpgsign false
# Files with test keys in them first, then ordinary code, in a fixed order.
# (awk NR<=N reads all its input: head would end the pipe early, and a
# writer killed by SIGPIPE fails the script under pipefail.)
{ { grep -rlE 'BEGIN (RSA |EC )?PRIVATE KEY|AKIA[0-9A-Z]{16}|api[_-]?key|password|token|secret' "$src" \
      --include='*.go' --include='*.pem' --include='*.txt' 2>/dev/null || true; } | LC_ALL=C sort | awk 'NR <= 400'
  find "$src/net/http" "$src/crypto/tls" "$src/encoding" -name '*.go' | LC_ALL=C sort | awk 'NR <= 600'; } |
  awk '!seen[$0]++' > ../files.list
n=$(wc -l < ../files.list)
per=$(( (n + commits - 1) / commits ))
i=0
while read -r f; do
  rel=${f#"$src"/}
  mkdir -p "$(dirname "$rel")"
  cp "$f" "$rel"
  i=$((i + 1))
  if (( i % per == 0 )); then
    c=$((i / per))
    if (( c % 10 == 0 )); then
      # Delete an earlier file (its secrets live on in history only).
      victim=$(git ls-files | sed -n "$((c / 10))p")
      [ -n "$victim" ] && git rm -q "$victim"
    fi
    if (( c % 7 == 0 )); then
      # Edit an earlier file: its unchanged lines are not new.
      edit=$(git ls-files | sed -n "$((c / 7 + 1))p")
      [ -n "$edit" ] && echo "// edited in commit $c" >> "$edit"
    fi
    git add -A
    git commit -qm "commit $c"
  fi
done < ../files.list
git add -A
git commit -qm "last" --allow-empty
rm ../files.list
