#!/usr/bin/env bash
# Builds a docker-archive image whose one layer holds the Go toolchain tree
# ($(go env GOROOT), ~270 MB unpacked) and scans it with secretgate and with
# trivy (offline, secrets only, config included), side by side; then scans the
# same tree unpacked with secretgate, to compare findings.
# Usage: bench/image.sh      (needs trivy on PATH:
#   GOEXPERIMENT=jsonv2 go install github.com/aquasecurity/trivy/cmd/trivy@v0.74.0)
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out/img"
root=$(go env GOROOT)
CGO_ENABLED=0 go build -trimpath -o "$out/secretgate" .
img=$out/goroot-image.tar
if [ ! -s "$img" ]; then
  tar -cf "$out/layer.tar" -C "$(dirname "$root")" "$(basename "$root")"
  d=$(sha256sum "$out/layer.tar" | cut -d' ' -f1)
  mv "$out/layer.tar" "$out/img/$d.tar"
  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/go/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"COPY go /usr/local/go"}]}' "$d" > "$out/img/config.json"
  printf '[{"Config":"config.json","RepoTags":["bench/goroot:1"],"Layers":["%s.tar"]}]' "$d" > "$out/img/manifest.json"
  tar -cf "$img" -C "$out/img" .
  rm -rf "$out/img"
fi
echo "$(date -u +%F); $(nproc) cores; $img: $(du -h "$img" | cut -f1)"
printf '%-22s %8s %10s %9s\n' what wall_s max_rss_MB findings
/usr/bin/time -f '%e %M' -o "$out/time" "$out/secretgate" scan --quiet --format json "docker-archive:$img" > "$out/sg-image.json" 2>/dev/null || true
read -r wall rss < <(tail -n 1 "$out/time")
printf '%-22s %8s %10d %9s\n' "secretgate image" "$wall" $((rss / 1024)) "$(grep -c '"fingerprint"' "$out/sg-image.json")"
if command -v trivy >/dev/null; then
  rm -rf "$out/trivy-cache" # trivy caches a layer's analysis by digest: measure it cold
  TRIVY_SKIP_DB_UPDATE=true TRIVY_OFFLINE_SCAN=true /usr/bin/time -f '%e %M' -o "$out/time" \
    trivy image --quiet --cache-dir "$out/trivy-cache" --input "$img" --scanners secret --image-config-scanners secret \
    --format json --output "$out/trivy.json" >/dev/null 2>&1 || true
  read -r wall rss < <(tail -n 1 "$out/time")
  n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(len(r.get("Secrets") or []) for r in d.get("Results") or []))' "$out/trivy.json")
  printf '%-22s %8s %10d %9s\n' "trivy image" "$wall" $((rss / 1024)) "$n"
fi
/usr/bin/time -f '%e %M' -o "$out/time" "$out/secretgate" scan --quiet --format json "$root" > "$out/sg-dir.json" 2>/dev/null || true
read -r wall rss < <(tail -n 1 "$out/time")
printf '%-22s %8s %10d %9s\n' "secretgate unpacked" "$wall" $((rss / 1024)) "$(grep -c '"fingerprint"' "$out/sg-dir.json")"
python3 - "$out/sg-image.json" "$out/sg-dir.json" <<'PY'
import json, sys
img = json.load(open(sys.argv[1]))["findings"]
d = json.load(open(sys.argv[2]))["findings"]
key = lambda f, p: (f["rule"], p, f.get("line", 0), f.get("offset", 0))
a = {key(f, f["path"].split("!/", 1)[1].split("/", 1)[1]) for f in img if "!/" in f["path"]}
b = {key(f, f["path"]) for f in d}
print(f"unpacked findings also found in the image: {len(b & a)} of {len(b)}; only in the image: {len(a - b)}")
PY
