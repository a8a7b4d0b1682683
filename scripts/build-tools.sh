#!/usr/bin/env bash
# Builds the real servers ksm-flux tests and the demo run against, from Go module sources only,
# into a cache outside the repo keyed by version. Anything already built is skipped.
# Usage: scripts/build-tools.sh [k8s] [etcd] [temporal] [crds] [flux] [helm] [temporal-server] [kcm]   (default: k8s etcd temporal crds)
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-1.36.3}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
TEMPORAL_CLI_VERSION=${TEMPORAL_CLI_VERSION:-1.5.1}
HELM_CONTROLLER_VERSION=${HELM_CONTROLLER_VERSION:-1.6.3}
KUSTOMIZE_CONTROLLER_VERSION=${KUSTOMIZE_CONTROLLER_VERSION:-1.9.4}
SOURCE_CONTROLLER_VERSION=${SOURCE_CONTROLLER_VERSION:-1.9.4}
KCM_VERSION=${KCM_VERSION:-1.9.0}
HELM_VERSION=${HELM_VERSION:-3.19.0}
# The production Temporal server for `testenv up --temporal postgres`: the server the dev server above embeds (CLI
# v1.5.1 is server 1.29.1 with UI 2.42.1), built as a standalone server, its SQL schema tool and the Web UI server.
TEMPORAL_SERVER_VERSION=${TEMPORAL_SERVER_VERSION:-1.29.1}
TEMPORAL_UI_VERSION=${TEMPORAL_UI_VERSION:-2.42.1}
# kcm's controller manager is built from a source extract (its module is not served by the Go module proxy); the
# commit names the cache entry. The Cluster API Cluster CRD comes from that module's zip (kcm lists Clusters).
KCM_COMMIT=${KCM_COMMIT:-8373a24}
CAPI_VERSION=${CAPI_VERSION:-1.13.4}
# Module versions a Flux controller build needs that the Go module proxy does not serve (403), each with the nearest
# served stand-in; applied only while the original is unserved, and logged. The helm/v4 fork v4.2.4-flux.1 (a
# pre-release of v4.2.4; it adds the HC#1545 fix) looks like a patched v4.2.3: v4.2.3's requirements fit HC v1.6.3's
# go.mod exactly, v4.2.4's raise grpc/otel. pkg/artifact v0.18.2's go.mod differs from v0.18.1's only in the pkg/oci
# version, which SC v1.9.4 requires itself anyway (its code diff is unseen).
FLUX_SUBSTITUTES=${FLUX_SUBSTITUTES:-github.com/fluxcd/helm/v4@v4.2.4-flux.1=helm.sh/helm/v4@v4.2.3 github.com/fluxcd/pkg/artifact@v0.18.2=github.com/fluxcd/pkg/artifact@v0.18.1}
REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED_CRDS=${KSM_FLUX_SHARED_CRDS:-$REPO/../shared/crds}
# kcm's source extract lives in ../shared beside the clone (for a git worktree: beside the main checkout).
kcm_src_default() {
  local f="shared/kcm/kcm-src-$KCM_COMMIT-min.tar.gz" common
  common=$(git -C "$REPO" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  if [ ! -f "$REPO/../$f" ] && [ -n "$common" ] && [ -f "$common/../../$f" ]; then echo "$common/../../$f"; else echo "$REPO/../$f"; fi
}
KCM_SRC=${KSM_FLUX_KCM_SRC:-$(kcm_src_default)}
CACHE=${KSM_FLUX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-flux}

export GOWORK=off GOFLAGS=-mod=mod GOTOOLCHAIN=local
mkdir -p "$CACHE"
# One build at a time per cache (parallel test runs, CI and a developer share it).
exec 9>"$CACHE/.build.lock"
if ! flock -n 9; then printf '[build] waiting for another build using %s…\n' "$CACHE" >&2; flock 9; fi
log() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
timed() { local name=$1; shift; local t0=$SECONDS; log "$name: building…"; "$@"; log "$name: done in $((SECONDS - t0))s"; }
scratch() { mktemp -d "${TMPDIR:-/tmp}/ksm-flux-build.XXXXXX"; }

build_k8s() {
  local out="$CACHE/kubernetes-v$K8S_VERSION" bins=(kube-apiserver kube-controller-manager kubectl) missing=() b
  for b in "${bins[@]}"; do [ -x "$out/$b" ] || missing+=("$b"); done
  if [ ${#missing[@]} -eq 0 ]; then log "kubernetes v$K8S_VERSION: cached in $out"; return; fi
  local w; w=$(scratch); mkdir -p "$out"
  (
    cd "$w" && go mod init local/kube-bins >/dev/null 2>&1
    local gomod
    gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\([^"]*\)".*/\1/p') || true
    [ -n "$gomod" ] || { log "kubernetes v$K8S_VERSION: go mod download failed:"; go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" >&2; exit 1; }
    # The tag's go.mod requires staging modules at v0.0.0 and points them at ./staging; replace each with its published tag.
    local n=0 m
    for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/.*#\1#p' "$gomod"); do
      go mod edit -replace="$m=$m@v0.${K8S_VERSION#1.}"; n=$((n + 1))
    done
    log "kubernetes: $n staging replaces generated from the v$K8S_VERSION go.mod"
    go mod edit -require="k8s.io/kubernetes@v$K8S_VERSION"
    local pkgs=() b
    for b in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b@v$K8S_VERSION"); done
    go get "${pkgs[@]}" >/dev/null 2>&1 || go get "${pkgs[@]}"
    local v=k8s.io/component-base/version minor
    minor=$(cut -d. -f2 <<<"$K8S_VERSION")
    local ld="-s -w -X $v.gitVersion=v$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
    for b in "${missing[@]}"; do
      timed "$b v$K8S_VERSION" env CGO_ENABLED=0 go build -trimpath -tags=selinux,notest,grpcnotrace -ldflags "$ld" -o "$out/$b.tmp" "k8s.io/kubernetes/cmd/$b"
      mv "$out/$b.tmp" "$out/$b"
    done
  )
  rm -rf "$w"
}

build_etcd() {
  local out="$CACHE/etcd-v$ETCD_VERSION"
  if [ -x "$out/etcd" ]; then log "etcd v$ETCD_VERSION: cached in $out"; return; fi
  local w; w=$(scratch); mkdir -p "$out.tmp"
  (
    cd "$w" && go mod init local/etcd-bin >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >/dev/null 2>&1 || go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
    timed "etcd v$ETCD_VERSION" env CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3
  )
  rm -rf "$w" "$out"; mv "$out.tmp" "$out"
}

build_temporal() {
  local out="$CACHE/temporal-cli-v$TEMPORAL_CLI_VERSION"
  if [ -x "$out/temporal" ]; then log "temporal CLI v$TEMPORAL_CLI_VERSION: cached in $out"; return; fi
  mkdir -p "$out.tmp"
  timed "temporal CLI v$TEMPORAL_CLI_VERSION" env GOBIN="$out.tmp" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=$TEMPORAL_CLI_VERSION" "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION"
  rm -rf "$out"; mv "$out.tmp" "$out"
}

# go.temporal.io/server and ui-server have no replace directives, so `go install pkg@version` builds them with
# exactly their own go.mod's build list. The package main names (server, sql, server) are renamed on the way.
build_temporal_server() {
  local out="$CACHE/temporal-server-v$TEMPORAL_SERVER_VERSION" b
  local bins=(temporal-server temporal-sql-tool temporal-ui-server) missing=0
  for b in "${bins[@]}"; do [ -x "$out/$b" ] || missing=1; done
  if [ $missing -eq 0 ]; then log "temporal server v$TEMPORAL_SERVER_VERSION: cached in $out"; return; fi
  rm -rf "$out.tmp"; mkdir -p "$out.tmp/server" "$out.tmp/ui"
  local s=go.temporal.io/server
  timed "temporal server + sql tool v$TEMPORAL_SERVER_VERSION" env GOBIN="$out.tmp/server" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "$s/cmd/server@v$TEMPORAL_SERVER_VERSION" "$s/cmd/tools/sql@v$TEMPORAL_SERVER_VERSION"
  timed "temporal Web UI server v$TEMPORAL_UI_VERSION" env GOBIN="$out.tmp/ui" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "github.com/temporalio/ui-server/v2/cmd/server@v$TEMPORAL_UI_VERSION"
  mv "$out.tmp/server/server" "$out.tmp/temporal-server"
  mv "$out.tmp/server/sql" "$out.tmp/temporal-sql-tool"
  mv "$out.tmp/ui/server" "$out.tmp/temporal-ui-server"
  rmdir "$out.tmp/server" "$out.tmp/ui"
  echo "go.temporal.io/server v$TEMPORAL_SERVER_VERSION (cmd/server, cmd/tools/sql); github.com/temporalio/ui-server/v2 v$TEMPORAL_UI_VERSION (cmd/server)" >"$out.tmp/SOURCES"
  rm -rf "$out"; mv "$out.tmp" "$out"
}

crd_dir() { # $1 module@version, $2 path in the module
  local d; d=$(go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\([^"]*\)".*/\1/p') || true
  [ -n "$d" ] && [ -d "$d/$2" ] && echo "$d/$2"
}

fetch_crds() {
  local out="$CACHE/crds-hc$HELM_CONTROLLER_VERSION-kc$KUSTOMIZE_CONTROLLER_VERSION-sc$SOURCE_CONTROLLER_VERSION-kcm$KCM_VERSION"
  if [ -f "$out/.complete" ]; then log "CRDs: cached in $out"; return; fi
  log "CRDs: fetching module zips…"
  rm -rf "$out"; mkdir -p "$out"
  local d
  d=$(crd_dir "github.com/fluxcd/helm-controller@v$HELM_CONTROLLER_VERSION" config/crd/bases) || { log "CRDs: github.com/fluxcd/helm-controller@v$HELM_CONTROLLER_VERSION could not be downloaded"; exit 1; }
  cp "$d/helm.toolkit.fluxcd.io_helmreleases.yaml" "$out/"
  d=$(crd_dir "github.com/fluxcd/kustomize-controller@v$KUSTOMIZE_CONTROLLER_VERSION" config/crd/bases) || { log "CRDs: github.com/fluxcd/kustomize-controller@v$KUSTOMIZE_CONTROLLER_VERSION could not be downloaded"; exit 1; }
  cp "$d/kustomize.toolkit.fluxcd.io_kustomizations.yaml" "$out/"
  d=$(crd_dir "github.com/fluxcd/source-controller@v$SOURCE_CONTROLLER_VERSION" config/crd/bases) || { log "CRDs: github.com/fluxcd/source-controller@v$SOURCE_CONTROLLER_VERSION could not be downloaded"; exit 1; }
  for r in buckets externalartifacts gitrepositories helmcharts helmrepositories ocirepositories; do
    cp "$d/source.toolkit.fluxcd.io_$r.yaml" "$out/"
  done
  echo "helm-controller v$HELM_CONTROLLER_VERSION, kustomize-controller v$KUSTOMIZE_CONTROLLER_VERSION, source-controller v$SOURCE_CONTROLLER_VERSION: Go module zips" >"$out/SOURCES"
  if d=$(crd_dir "github.com/K0rdent/kcm@v$KCM_VERSION" templates/provider/kcm/templates/crds 2>/dev/null); then
    echo "k0rdent kcm v$KCM_VERSION: Go module zip" >>"$out/SOURCES"
  else
    # The Go module proxy does not serve github.com/K0rdent/kcm; use the upstream copies kept in ../shared/crds.
    d="$SHARED_CRDS/k0rdent"
    [ -d "$d" ] || { log "CRDs: github.com/K0rdent/kcm@v$KCM_VERSION is not served and $d is missing"; exit 1; }
    log "CRDs: github.com/K0rdent/kcm@v$KCM_VERSION is not served by the Go module proxy; using $d"
    echo "k0rdent kcm: copies from shared/crds/k0rdent (kcm commit 8373a24; module not served)" >>"$out/SOURCES"
  fi
  for r in servicesets servicetemplates statemanagementproviders clusterdeployments multiclusterservices credentials; do
    cp "$d/k0rdent.mirantis.com_$r.yaml" "$out/"
  done
  chmod u+w "$out"/*.yaml
  touch "$out/.complete"
  log "CRDs: $(ls "$out" | wc -l) files in $out"
}

# Non-local replace directives of a go.mod file, one "old[@v]=new@v" per line (the "=> ./dir" ones are skipped:
# they point into the upstream checkout, which a module zip does not fully contain).
gomod_replaces() {
  awk '
    function emit(s,   lr, l, r) {
      sub(/\/\/.*/, "", s)
      if (split(s, lr, "=>") != 2) return
      split(lr[1], l, " "); split(lr[2], r, " ")
      if (r[2] == "") return
      print l[1] (l[2] == "" ? "" : "@" l[2]) "=" r[1] "@" r[2]
    }
    /^replace[[:space:]]*\(/ { blk = 1; next }
    blk && /^[[:space:]]*\)/ { blk = 0; next }
    blk { emit($0); next }
    /^replace[[:space:]]/ { sub(/^replace[[:space:]]+/, ""); emit($0) }
  ' "$1"
}

# "path version" of every require line of a go.mod file.
gomod_requires() {
  awk '
    /^require[[:space:]]*\(/ { blk = 1; next }
    blk && /^[[:space:]]*\)/ { blk = 0; next }
    blk && NF >= 2 { print $1, $2; next }
    /^require[[:space:]]/ && $2 != "(" { print $2, $3 }
  ' "$1"
}

gomod_file() { # $1 module@version: downloads it, prints the path of its go.mod
  local j
  j=$(go mod download -json "$1") || { log "cannot download $1: $(sed -n 's/^[[:space:]]*"Error": "\(.*\)",*$/\1/p' <<<"$j")"; return 1; }
  sed -n 's/^[[:space:]]*"GoMod": "\([^"]*\)".*/\1/p' <<<"$j"
}
served() { go mod download -json "$1" >/dev/null 2>&1; } # $1 module@version
substitute() { local r; for r in $FLUX_SUBSTITUTES; do [ "${r%%=*}" != "$1" ] || echo "${r#*=}"; done; }

# One Flux controller, built as a dependency of its own throwaway module (each gets its own, since their replaces
# conflict, e.g. go-digest) with the upstream go.mod's non-local replaces copied in, so the build list matches
# upstream's. `go install …@v` refuses modules with replaces, and the module zip lacks ./api.
build_flux_controller() { # $1 output dir, $2 name, $3 version
  local bin="$1/$2" mod="github.com/fluxcd/$2" ver="v$3"
  if [ -x "$bin" ]; then log "$2 $ver: cached in $1"; return; fi
  local w; w=$(scratch)
  (
    trap 'rm -rf "$w"' EXIT # also when a step fails (set -e ends the subshell)
    cd "$w" && go mod init "local/$2-bin" >/dev/null 2>&1
    local gomod r to sub
    gomod=$(gomod_file "$mod@$ver")
    for r in $(gomod_replaces "$gomod"); do
      to=${r#*=}
      if ! served "$to"; then
        sub=$(substitute "$to")
        [ -n "$sub" ] || { log "$2 $ver: replace target $to is not served by the Go module proxy and has no substitute"; exit 1; }
        log "$2 $ver: WARNING replace target $to is not served; using $sub instead (FLUX_SUBSTITUTES)"
        r="${r%%=*}=$sub"
      fi
      go mod edit -replace="$r"; log "$2 $ver: replace ${r/=/ => } (from its go.mod)"
    done
    # Required versions that are not served get their stand-in, for that version only.
    for r in $FLUX_SUBSTITUTES; do
      to=${r%%=*}
      gomod_requires "$gomod" | grep -qxF "${to%@*} ${to#*@}" || continue
      served "$to" && continue
      go mod edit -replace="$r"; log "$2 $ver: WARNING requires $to, which is not served; replace ${r/=/ => } (FLUX_SUBSTITUTES)"
    done
    go get "$mod@$ver" >/dev/null 2>&1 || go get "$mod@$ver"
    # Every module the upstream go.mod requires must be selected at the same version here.
    local diff
    diff=$(go list -m -f '{{.Path}} {{.Version}}' all | awk 'NR == FNR { want[$1] = $2; next } ($1 in want) && want[$1] != $2 { print $1 " " want[$1] " -> " $2 }' <(gomod_requires "$gomod") -)
    if [ -n "$diff" ]; then log "$2 $ver: build list differs from upstream go.mod:"; printf '  %s\n' "$diff" >&2; else log "$2 $ver: build list matches the upstream go.mod"; fi
    timed "$2 $ver" env CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin.tmp" "$mod"
  )
  rm -rf "$w"; mv -f "$bin.tmp" "$bin"
}

build_flux() {
  local out="$CACHE/flux-hc$HELM_CONTROLLER_VERSION-kc$KUSTOMIZE_CONTROLLER_VERSION-sc$SOURCE_CONTROLLER_VERSION"
  mkdir -p "$out"
  build_flux_controller "$out" source-controller "$SOURCE_CONTROLLER_VERSION"
  build_flux_controller "$out" kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION"
  build_flux_controller "$out" helm-controller "$HELM_CONTROLLER_VERSION"
}

# The helm v3 CLI; its go.mod has no replaces, so `go install` works. Version ldflags as in its Makefile, including
# the Kubernetes version (client-go v0.N → 1.N) that .Capabilities.KubeVersion and the linter default to.
build_helm() {
  local out="$CACHE/helm-v$HELM_VERSION"
  if [ -x "$out/helm" ]; then log "helm v$HELM_VERSION: cached in $out"; return; fi
  local gomod kminor
  gomod=$(gomod_file "helm.sh/helm/v3@v$HELM_VERSION")
  kminor=$(gomod_requires "$gomod" | sed -n 's#^k8s\.io/client-go v0\.\([0-9]*\)\..*#\1#p')
  local h=helm.sh/helm/v3
  local ld="-s -w -X $h/internal/version.version=v$HELM_VERSION -X $h/internal/version.gitTreeState=clean"
  [ -z "$kminor" ] || ld="$ld -X $h/pkg/lint/rules.k8sVersionMajor=1 -X $h/pkg/lint/rules.k8sVersionMinor=$kminor -X $h/pkg/chartutil.k8sVersionMajor=1 -X $h/pkg/chartutil.k8sVersionMinor=$kminor"
  mkdir -p "$out.tmp"
  timed "helm v$HELM_VERSION" env GOBIN="$out.tmp" CGO_ENABLED=0 go install -trimpath -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
  rm -rf "$out"; mv "$out.tmp" "$out"
}

# Runs a command in the background and logs every 30 s that it is still running (for long silent steps).
with_heartbeat() { # $1 what, then the command
  local what=$1; shift
  "$@" &
  local pid=$! t0=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (((SECONDS - t0) % 30 == 0)) && kill -0 "$pid" 2>/dev/null; then log "$what: still running ($((SECONDS - t0))s)"; fi
  done
  wait "$pid"
}

# kcm's controller manager (k0rdent), its 21 CRDs from the same source, and the Cluster API Cluster CRD, into
# kcm-<commit>/{kcm-manager,crds/}. `go build -v` names each package it compiles; we report a count against the
# total so that the 4–5 min cold build shows progress.
build_kcm() {
  local out="$CACHE/kcm-$KCM_COMMIT"
  if [ -x "$out/kcm-manager" ] && [ -f "$out/crds/.complete" ]; then log "kcm $KCM_COMMIT: cached in $out"; return; fi
  [ -f "$KCM_SRC" ] || { log "kcm $KCM_COMMIT: source tarball $KCM_SRC is missing (set KSM_FLUX_KCM_SRC)"; exit 1; }
  local w; w=$(scratch)
  rm -rf "$out.tmp"; mkdir -p "$out.tmp/crds"
  (
    trap 'rm -rf "$w"' EXIT
    tar xzf "$KCM_SRC" -C "$w"
    local n
    cp "$w"/templates/provider/kcm/templates/crds/*.yaml "$out.tmp/crds/"
    n=$(find "$out.tmp/crds" -name '*.yaml' | wc -l)
    [ "$n" -eq 21 ] || log "kcm $KCM_COMMIT: WARNING expected 21 kcm CRDs in the source, found $n"
    local d
    d=$(crd_dir "sigs.k8s.io/cluster-api@v$CAPI_VERSION" config/crd/bases) || { log "kcm: sigs.k8s.io/cluster-api@v$CAPI_VERSION could not be downloaded"; exit 1; }
    cp "$d/cluster.x-k8s.io_clusters.yaml" "$out.tmp/crds/"
    chmod u+w "$out.tmp/crds"/*.yaml
    printf 'kcm %s: 21 CRDs from %s\nsigs.k8s.io/cluster-api v%s: Cluster CRD from its Go module zip\n' "$KCM_COMMIT" "$(basename "$KCM_SRC")" "$CAPI_VERSION" >"$out.tmp/crds/SOURCES"
    touch "$out.tmp/crds/.complete"
    log "kcm $KCM_COMMIT: $n kcm CRDs + the Cluster API Cluster CRD (v$CAPI_VERSION)"
    cd "$w"
    local total
    # Listing the manager's packages downloads exactly the modules it needs (~140 on a cold module cache).
    timed "kcm $KCM_COMMIT: modules" with_heartbeat "kcm modules" sh -c 'go list -deps ./cmd/ >"$1"' _ "$w/.deps"
    total=$(wc -l <"$w/.deps")
    log "kcm $KCM_COMMIT: compiling up to $total packages (already-built ones are skipped and not counted)…"
    local ld="-s -w -X github.com/K0rdent/kcm/internal/build.Name=kcm -X github.com/K0rdent/kcm/internal/build.Commit=$KCM_COMMIT"
    kcm_go_build() {
      local n=0 t0=$SECONDS line
      env CGO_ENABLED=0 go build -v -trimpath -ldflags "$ld" -o "$out.tmp/kcm-manager" ./cmd/ 2>&1 |
        while IFS= read -r line; do
          # A bare import path is a package being compiled; anything else (errors) is shown as is.
          if [[ $line =~ ^[A-Za-z0-9._~/+-]+$ ]]; then
            n=$((n + 1))
            if ((n % 100 == 0)); then log "kcm: $n/$total packages compiled ($((SECONDS - t0))s)"; fi
          else
            printf '%s\n' "$line" >&2
          fi
        done
    }
    timed "kcm $KCM_COMMIT: kcm-manager" kcm_go_build
    [ -x "$out.tmp/kcm-manager" ] || { log "kcm $KCM_COMMIT: build produced no binary"; exit 1; }
  )
  rm -rf "$out"; mv "$out.tmp" "$out"
}

targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(k8s etcd temporal crds)
T0=$SECONDS
for t in "${targets[@]}"; do
  case $t in
    k8s) build_k8s ;; etcd) build_etcd ;; temporal) build_temporal ;; crds) fetch_crds ;; flux) build_flux ;; helm) build_helm ;; kcm) build_kcm ;;
    temporal-server) build_temporal_server ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
done
log "all done in $((SECONDS - T0))s (cache: $CACHE)"
