#!/usr/bin/env bash
# Builds the values renderer (src/values/wasm: Go text/template + Sveltos' function map) to WebAssembly
# (GOOS=wasip1, a reactor module) into the cache outside the repo, keyed by a digest of its Go sources and the
# Go version, and skips the build when that key is cached. Without Go, a build of the same sources by any Go
# version is reused. `--copy DEST` also copies the module to DEST (npm run build: dist/src/values/render.wasm).
# src/values/render.ts finds the module the same way (same digest of the same files).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SRC=$REPO/src/values/wasm
CACHE=${KSM_FLUX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-flux}
copy=
if [ "${1:-}" = --copy ]; then copy=${2:?--copy needs a destination}; fi
log() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# The digest covers go.mod, go.sum and every .go file, in byte order of their names (render.ts: sourceDigest).
key=$(cd "$SRC" && LC_ALL=C ls go.mod go.sum *.go | while read -r f; do printf '%s\0' "$f"; cat "$f"; done | sha256sum | cut -c1-16)
PATH=$PATH:/usr/local/go/bin
mkdir -p "$CACHE"
if command -v go >/dev/null 2>&1; then
  out="$CACHE/values-render-$key-$(go env GOVERSION)"
  if [ -f "$out/render.wasm" ]; then
    log "values renderer: cached in $out"
  else
    t0=$SECONDS
    log "values renderer: building (GOOS=wasip1)…"
    # Its go.mod and go.sum are the committed module graph: -mod=readonly downloads only what they name.
    export GOWORK=off GOFLAGS=-mod=readonly GOTOOLCHAIN=local GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0
    STATE=$(mktemp -d "${TMPDIR:-/tmp}/ksm-flux-render.XXXXXX")
    trap 'rm -rf "$STATE" "$out.tmp"' EXIT
    # shellcheck source=scripts/go-modules.sh
    . "$REPO/scripts/go-modules.sh"
    fetch_modules render "$SRC" src/values/wasm/go.mod . || exit 1
    mkdir -p "$out.tmp"
    (cd "$SRC" && GOPROXY=off go build -buildmode=c-shared -trimpath -ldflags='-s -w' -o "$out.tmp/render.wasm" .)
    rm -rf "$out" && mv "$out.tmp" "$out"
    log "values renderer: done in $((SECONDS - t0))s ($out)"
  fi
else
  out=$(LC_ALL=C ls -d "$CACHE/values-render-$key-"* 2>/dev/null | tail -n1 || true)
  if { [ -z "$out" ] || [ ! -f "$out/render.wasm" ]; } && [ -n "$copy" ] && [ -f "$copy" ]; then
    # A container build copies in the module built by its Go stage.
    log "values renderer: no Go toolchain; keeping the prebuilt $copy"
    exit 0
  fi
  [ -n "$out" ] && [ -f "$out/render.wasm" ] || { log "values renderer: no Go toolchain and no cached build of these sources in $CACHE"; exit 1; }
  log "values renderer: no Go toolchain; using $out"
fi
if [ -n "$copy" ]; then
  mkdir -p "$(dirname "$copy")" && cp "$out/render.wasm" "$copy.tmp" && mv "$copy.tmp" "$copy"
fi
