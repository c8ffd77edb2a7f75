#!/usr/bin/env bash
# Builds the static binary, then the container image apayun-mock:TAG
# (default `local`) from the Dockerfile at the root, with podman or docker,
# whichever is installed. The image is FROM scratch: nothing is pulled.
#
#   scripts/build-image.sh [TAG]
#
# ENGINE=docker (or podman) picks one when both are installed.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-local}
engine=${ENGINE:-}
if [ -z "$engine" ]; then
  if command -v podman >/dev/null 2>&1; then
    engine=podman
  elif command -v docker >/dev/null 2>&1; then
    engine=docker
  else
    echo "build-image.sh: neither podman nor docker is installed" >&2
    exit 1
  fi
fi

# The static build (the README's command): glibc linked in, so the binary
# runs in an empty image; a fixed load address, so there is no dynamic
# loader either. The explicit --target keeps these flags off build scripts
# and proc macros.
target=$(rustc -vV | sed -n 's/^host: //p')
echo "== static binary ($target)"
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C relocation-model=static" \
  cargo build --release --locked --target "$target" --bin apayun-mock
bin="target/$target/release/apayun-mock"
if command -v ldd >/dev/null 2>&1; then
  linked=$(ldd "$bin" 2>&1 || true) # exits 1 on a static binary
  if ! grep -q "not a dynamic executable" <<<"$linked"; then
    echo "build-image.sh: $bin is not static: $linked" >&2
    exit 1
  fi
fi

# The build context: the binary (its symbol table stripped: 2 MB less) and
# two empty folders, nothing else.
context=target/image
rm -rf "$context"
mkdir -p "$context/data" "$context/tmp"
cp "$bin" "$context/apayun-mock"
strip "$context/apayun-mock" 2>/dev/null || true

echo "== $engine build apayun-mock:$tag"
if [ "$engine" = podman ]; then
  # The docker format keeps HEALTHCHECK (the OCI format has no field for it).
  podman build --format docker --pull=never -f Dockerfile -t "apayun-mock:$tag" "$context"
else
  docker build -f Dockerfile -t "apayun-mock:$tag" "$context"
fi
"$engine" image inspect --format '{{.Size}}' "apayun-mock:$tag" |
  awk -v t="apayun-mock:$tag" '{printf "built %s: %.1f MB\n", t, $1/1e6}'
