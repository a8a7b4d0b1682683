#!/usr/bin/env bash
# Builds the real servers ksm-flux tests and the demo run against, from Go module sources only, into a cache outside
# the repo keyed by version. Anything already built is skipped.
#
# Nothing is resolved here: each tool builds from the module graph committed in tools/<component>/ (go.mod + go.sum,
# written by scripts/pin-tools.sh) with -mod=readonly, and kcm from its source extract's own go.mod + go.sum. The
# modules of every requested tool are downloaded first, all at once in the background, while the first tool compiles;
# a compile starts once its downloads are in and runs with GOPROXY=off. A transient download error is retried with a
# bounded backoff; a version the module proxy refuses (403/404/410) stops the build at once with one line naming the
# module, the version and the file that pins it. A failed build leaves nothing in the cache.
#
# Usage: scripts/build-tools.sh [--fetch-only] [k8s] [etcd] [temporal] [crds] [flux] [helm] [temporal-server] [kcm]
#        (default: k8s etcd temporal crds). --fetch-only downloads the modules of what is not built yet, and stops.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/tool-versions.sh
. "$REPO/scripts/tool-versions.sh"
TOOLS=${KSM_FLUX_TOOLS:-$REPO/tools}
SHARED_CRDS=${KSM_FLUX_SHARED_CRDS:-$REPO/../shared/crds}
# kcm's source extract lives in ../shared beside the clone (for a git worktree: beside the main checkout).
kcm_src_default() {
  local f="shared/kcm/kcm-src-$KCM_COMMIT-min.tar.gz" common
  common=$(git -C "$REPO" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  if [ ! -f "$REPO/../$f" ] && [ -n "$common" ] && [ -f "$common/../../$f" ]; then echo "$common/../../$f"; else echo "$REPO/../$f"; fi
}
KCM_SRC=${KSM_FLUX_KCM_SRC:-$(kcm_src_default)}
CACHE=${KSM_FLUX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-flux}

export GOWORK=off GOFLAGS=-mod=readonly GOTOOLCHAIN=local
FETCH_ONLY=0
if [ "${1:-}" = --fetch-only ]; then FETCH_ONLY=1; shift; fi
mkdir -p "$CACHE"
# One build at a time per cache (parallel test runs, CI and a developer share it). Downloads alone need no lock: the
# module cache has its own.
if [ $FETCH_ONLY -eq 0 ]; then
  exec 9>"$CACHE/.build.lock"
  if ! flock -n 9; then printf '[build] waiting for another build using %s…\n' "$CACHE" >&2; flock 9; fi
fi
log() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
STATE=$(mktemp -d "${TMPDIR:-/tmp}/ksm-flux-build.XXXXXX")
# shellcheck source=scripts/go-modules.sh
. "$REPO/scripts/go-modules.sh"
PREFETCHES=()
cleanup() {
  local p
  for p in "${PREFETCHES[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$STATE"
}
trap cleanup EXIT

# The version tools/$1/go.mod requires of module $2.
pinned() { awk -v m="$2" '($1 == m || ($1 == "require" && $2 == m)) { print ($1 == m ? $2 : $3); exit }' "$TOOLS/$1/go.mod"; }
# Fails unless tools/$1/go.mod pins module $2 at $3 (a version asked for through the environment needs a new pin).
check_pin() { # $1 component, $2 module, $3 version
  local got; got=$(pinned "$1" "$2")
  [ "$got" = "$3" ] || { log "$1: tools/$1/go.mod pins $2 ${got:-(nothing)}, not $3: run scripts/pin-tools.sh $1, review and commit tools/$1/"; exit 1; }
}

# Starts fetch_modules for $1 in the background (its messages go to $STATE/$1.fetch.log); modules() waits for it.
declare -A FETCH_PID
prefetch() { # same arguments as fetch_modules
  fetch_modules "$@" >"$STATE/$1.fetch.log" 2>&1 &
  FETCH_PID[$1]=$!
  PREFETCHES+=($!)
}
modules() { # same arguments as fetch_modules
  local pid=${FETCH_PID[$1]:-} t0=$SECONDS rc=0
  if [ -z "$pid" ]; then fetch_modules "$@"; return; fi
  wait "$pid" || rc=$?
  unset "FETCH_PID[$1]"
  cat "$STATE/$1.fetch.log" >&2
  [ "$rc" -eq 0 ] || exit 1
  [ $((SECONDS - t0)) -lt 2 ] || log "$1: waited $((SECONDS - t0))s for its module downloads"
}

# go build of one binary with GOPROXY=off (its modules are in), into $2.tmp then $2, counting compiled packages
# against the list fetch_modules wrote (`go build -v` names each one it compiles), every 100, so that a long compile
# shows progress. $1 label, $2 output file, $3 dir, then go build arguments.
compile() {
  local label=$1 bin=$2 dir=$3 t0=$SECONDS total=? n=0 line
  shift 3
  [ -f "$STATE/$label.deps" ] && total=$(wc -l <"$STATE/$label.deps")
  log "$label: compiling (up to $total packages; cached ones are not counted)…"
  mkdir -p "$(dirname "$bin")"
  local rc
  set +e
  (cd "$dir" && GOPROXY=off CGO_ENABLED=0 go build -v -trimpath -o "$bin.tmp" "$@" 2>&1) |
    while IFS= read -r line; do
      # A bare import path is a package being compiled; anything else (errors) is shown as is.
      if [[ $line =~ ^[A-Za-z0-9._~/+-]+$ ]]; then
        n=$((n + 1))
        if ((n % 100 == 0)); then log "$label: $n/$total packages compiled ($((SECONDS - t0))s)"; fi
      else
        printf '%s\n' "$line" >&2
      fi
    done
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" -eq 0 ] && [ -x "$bin.tmp" ] || { rm -f "$bin.tmp"; log "$label: build failed (go build exited $rc)"; exit 1; }
  mv -f "$bin.tmp" "$bin"
  log "$label: done in $((SECONDS - t0))s"
}

# --- the components: each has a `want_X` (what its build needs: prints nothing when cached) and a `build_X` ---

K8S_OUT=$CACHE/kubernetes-v$K8S_VERSION
k8s_missing() { local b; for b in kube-apiserver kube-controller-manager kubectl; do [ -x "$K8S_OUT/$b" ] || echo "$b"; done; }
want_k8s() {
  local b pkgs=()
  for b in $(k8s_missing); do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  [ ${#pkgs[@]} -eq 0 ] || echo k8s "$TOOLS/k8s" tools/k8s/go.mod "${pkgs[@]}"
}
build_k8s() {
  local missing; missing=$(k8s_missing)
  if [ -z "$missing" ]; then log "kubernetes v$K8S_VERSION: cached in $K8S_OUT"; return; fi
  check_pin k8s k8s.io/kubernetes "v$K8S_VERSION"
  # shellcheck disable=SC2046
  modules $(want_k8s)
  local v=k8s.io/component-base/version minor b
  minor=$(cut -d. -f2 <<<"$K8S_VERSION")
  local ld="-s -w -X $v.gitVersion=v$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
  for b in $missing; do
    compile k8s "$K8S_OUT/$b" "$TOOLS/k8s" -tags=selinux,notest,grpcnotrace -ldflags "$ld" "k8s.io/kubernetes/cmd/$b"
  done
}

ETCD_OUT=$CACHE/etcd-v$ETCD_VERSION
want_etcd() { [ -x "$ETCD_OUT/etcd" ] || echo etcd "$TOOLS/etcd" tools/etcd/go.mod go.etcd.io/etcd/server/v3; }
build_etcd() {
  if [ -x "$ETCD_OUT/etcd" ]; then log "etcd v$ETCD_VERSION: cached in $ETCD_OUT"; return; fi
  check_pin etcd go.etcd.io/etcd/server/v3 "v$ETCD_VERSION"
  # shellcheck disable=SC2046
  modules $(want_etcd)
  compile etcd "$ETCD_OUT/etcd" "$TOOLS/etcd" -ldflags "-s -w" go.etcd.io/etcd/server/v3
}

# The Temporal CLI and the standalone server share tools/temporal: one download, and the server's packages compile
# once for both (the build list is the CLI's own, so the PostgreSQL server runs the code the dev server embeds).
TEMPORAL_CLI_OUT=$CACHE/temporal-cli-v$TEMPORAL_CLI_VERSION
want_temporal() { [ -x "$TEMPORAL_CLI_OUT/temporal" ] || echo temporal "$TOOLS/temporal" tools/temporal/go.mod github.com/temporalio/cli/cmd/temporal; }
build_temporal() {
  if [ -x "$TEMPORAL_CLI_OUT/temporal" ]; then log "temporal CLI v$TEMPORAL_CLI_VERSION: cached in $TEMPORAL_CLI_OUT"; return; fi
  check_pin temporal github.com/temporalio/cli "v$TEMPORAL_CLI_VERSION"
  # shellcheck disable=SC2046
  modules $(want_temporal)
  compile temporal "$TEMPORAL_CLI_OUT/temporal" "$TOOLS/temporal" \
    -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=$TEMPORAL_CLI_VERSION" github.com/temporalio/cli/cmd/temporal
}

TEMPORAL_SERVER_OUT=$CACHE/temporal-server-v$TEMPORAL_SERVER_VERSION
temporal_server_missing() { local b; for b in temporal-server temporal-sql-tool temporal-ui-server; do [ -x "$TEMPORAL_SERVER_OUT/$b" ] || echo "$b"; done; }
want_temporal_server() {
  [ -z "$(temporal_server_missing)" ] ||
    echo temporal-server "$TOOLS/temporal" tools/temporal/go.mod go.temporal.io/server/cmd/server go.temporal.io/server/cmd/tools/sql github.com/temporalio/ui-server/v2/cmd/server
}
build_temporal_server() {
  local missing; missing=$(temporal_server_missing)
  if [ -z "$missing" ]; then log "temporal server v$TEMPORAL_SERVER_VERSION: cached in $TEMPORAL_SERVER_OUT"; return; fi
  check_pin temporal go.temporal.io/server "v$TEMPORAL_SERVER_VERSION"
  check_pin temporal github.com/temporalio/ui-server/v2 "v$TEMPORAL_UI_VERSION"
  # shellcheck disable=SC2046
  modules $(want_temporal_server)
  local b
  declare -A pkg=([temporal-server]=go.temporal.io/server/cmd/server [temporal-sql-tool]=go.temporal.io/server/cmd/tools/sql [temporal-ui-server]=github.com/temporalio/ui-server/v2/cmd/server)
  for b in $missing; do compile temporal-server "$TEMPORAL_SERVER_OUT/$b" "$TOOLS/temporal" -ldflags "-s -w" "${pkg[$b]}"; done
  echo "go.temporal.io/server v$TEMPORAL_SERVER_VERSION (cmd/server, cmd/tools/sql); github.com/temporalio/ui-server/v2 v$TEMPORAL_UI_VERSION (cmd/server); build list: tools/temporal/go.mod" >"$TEMPORAL_SERVER_OUT/SOURCES"
}

# The helm v3 CLI. Version ldflags as in its Makefile, including the Kubernetes version (client-go v0.N → 1.N) that
# .Capabilities.KubeVersion and the linter default to.
HELM_OUT=$CACHE/helm-v$HELM_VERSION
want_helm() { [ -x "$HELM_OUT/helm" ] || echo helm "$TOOLS/helm" tools/helm/go.mod helm.sh/helm/v3/cmd/helm; }
build_helm() {
  if [ -x "$HELM_OUT/helm" ]; then log "helm v$HELM_VERSION: cached in $HELM_OUT"; return; fi
  check_pin helm helm.sh/helm/v3 "v$HELM_VERSION"
  # shellcheck disable=SC2046
  modules $(want_helm)
  local h=helm.sh/helm/v3 kminor
  kminor=$(pinned helm k8s.io/client-go | sed -n 's#^v0\.\([0-9]*\)\..*#\1#p')
  local ld="-s -w -X $h/internal/version.version=v$HELM_VERSION -X $h/internal/version.gitTreeState=clean"
  [ -z "$kminor" ] || ld="$ld -X $h/pkg/lint/rules.k8sVersionMajor=1 -X $h/pkg/lint/rules.k8sVersionMinor=$kminor -X $h/pkg/chartutil.k8sVersionMajor=1 -X $h/pkg/chartutil.k8sVersionMinor=$kminor"
  compile helm "$HELM_OUT/helm" "$TOOLS/helm" -ldflags "$ld" helm.sh/helm/v3/cmd/helm
}

# The three Flux controllers, each from its own tools/<name> (their replaces conflict, e.g. go-digest).
FLUX_OUT=$CACHE/flux-hc$HELM_CONTROLLER_VERSION-kc$KUSTOMIZE_CONTROLLER_VERSION-sc$SOURCE_CONTROLLER_VERSION
FLUX=("source-controller $SOURCE_CONTROLLER_VERSION" "kustomize-controller $KUSTOMIZE_CONTROLLER_VERSION" "helm-controller $HELM_CONTROLLER_VERSION")
want_flux_controller() { [ -x "$FLUX_OUT/$1" ] || echo "$1" "$TOOLS/$1" "tools/$1/go.mod" "github.com/fluxcd/$1"; }
build_flux() {
  local c name ver
  for c in "${FLUX[@]}"; do
    read -r name ver <<<"$c"
    if [ -x "$FLUX_OUT/$name" ]; then log "$name v$ver: cached in $FLUX_OUT"; continue; fi
    check_pin "$name" "github.com/fluxcd/$name" "v$ver"
    # shellcheck disable=SC2046
    modules $(want_flux_controller "$name")
    compile "$name" "$FLUX_OUT/$name" "$TOOLS/$name" -ldflags "-s -w" "github.com/fluxcd/$name"
  done
}

# A module zip's directory, as pinned in tools/sources (checked against its go.sum).
source_dir() { # $1 module path, $2 version, $3 path in the module
  local d j try
  check_pin sources "$1" "$2"
  for try in 1 2 3; do
    if j=$(cd "$TOOLS/sources" && go mod download -json "$1" 2>&1); then break; fi
    [ "$try" -lt 3 ] || { log "sources: cannot download $1 $2: $(sed -n 's/^[[:space:]]*"Error": "\(.*\)",*$/\1/p' <<<"$j")"; exit 1; }
    grep -qE '403 Forbidden|404 Not Found|410 Gone' <<<"$j" && { log "sources: the Go module proxy refuses $1 $2; tools/sources/go.mod pins it"; exit 1; }
    sleep $((try * 5))
  done
  d=$(sed -n 's/^[[:space:]]*"Dir": "\([^"]*\)".*/\1/p' <<<"$j")
  [ -n "$d" ] && [ -d "$d/$3" ] || { log "sources: $1 $2 has no $3"; exit 1; }
  echo "$d/$3"
}

CRD_OUT=$CACHE/crds-hc$HELM_CONTROLLER_VERSION-kc$KUSTOMIZE_CONTROLLER_VERSION-sc$SOURCE_CONTROLLER_VERSION-kcm$KCM_VERSION
build_crds() {
  if [ -f "$CRD_OUT/.complete" ]; then log "CRDs: cached in $CRD_OUT"; return; fi
  rm -rf "$CRD_OUT.tmp"; mkdir -p "$CRD_OUT.tmp"
  local d r out=$CRD_OUT.tmp
  d=$(source_dir github.com/fluxcd/helm-controller "v$HELM_CONTROLLER_VERSION" config/crd/bases)
  cp "$d/helm.toolkit.fluxcd.io_helmreleases.yaml" "$out/"
  d=$(source_dir github.com/fluxcd/kustomize-controller "v$KUSTOMIZE_CONTROLLER_VERSION" config/crd/bases)
  cp "$d/kustomize.toolkit.fluxcd.io_kustomizations.yaml" "$out/"
  d=$(source_dir github.com/fluxcd/source-controller "v$SOURCE_CONTROLLER_VERSION" config/crd/bases)
  for r in buckets externalartifacts gitrepositories helmcharts helmrepositories ocirepositories; do
    cp "$d/source.toolkit.fluxcd.io_$r.yaml" "$out/"
  done
  echo "helm-controller v$HELM_CONTROLLER_VERSION, kustomize-controller v$KUSTOMIZE_CONTROLLER_VERSION, source-controller v$SOURCE_CONTROLLER_VERSION: Go module zips (tools/sources)" >"$out/SOURCES"
  # The Go module proxy does not serve github.com/K0rdent/kcm; the upstream copies are kept in ../shared/crds.
  d="$SHARED_CRDS/k0rdent"
  [ -d "$d" ] || { log "CRDs: $d is missing (the kcm module is not served by the Go module proxy)"; exit 1; }
  echo "k0rdent kcm: copies from shared/crds/k0rdent (kcm commit 8373a24; module not served)" >>"$out/SOURCES"
  for r in servicesets servicetemplates statemanagementproviders clusterdeployments multiclusterservices credentials; do
    cp "$d/k0rdent.mirantis.com_$r.yaml" "$out/"
  done
  chmod u+w "$out"/*.yaml
  touch "$out/.complete"
  rm -rf "$CRD_OUT" && mv "$out" "$CRD_OUT"
  log "CRDs: $(ls "$CRD_OUT" | wc -l) files in $CRD_OUT"
}

# kcm's controller manager (k0rdent) from its source extract, with the extract's own go.mod and go.sum
# (-mod=readonly), its 21 CRDs from the same source and the Cluster API Cluster CRD, into kcm-<commit>/.
KCM_OUT=$CACHE/kcm-$KCM_COMMIT
KCM_DIR=$STATE/kcm-src
kcm_cached() { [ -x "$KCM_OUT/kcm-manager" ] && [ -f "$KCM_OUT/crds/.complete" ]; }
want_kcm() {
  kcm_cached && return
  [ -f "$KCM_SRC" ] || { log "kcm $KCM_COMMIT: source extract $KCM_SRC is missing (set KSM_FLUX_KCM_SRC)"; exit 1; }
  [ -d "$KCM_DIR" ] || { mkdir -p "$KCM_DIR.tmp" && tar xzf "$KCM_SRC" -C "$KCM_DIR.tmp" && mv "$KCM_DIR.tmp" "$KCM_DIR"; }
  echo kcm "$KCM_DIR" "$(basename "$KCM_SRC"):go.mod" ./cmd/
}
build_kcm() {
  if kcm_cached; then log "kcm $KCM_COMMIT: cached in $KCM_OUT"; return; fi
  local args; args=$(want_kcm)
  rm -rf "$KCM_OUT.tmp"; mkdir -p "$KCM_OUT.tmp/crds"
  local n d
  cp "$KCM_DIR"/templates/provider/kcm/templates/crds/*.yaml "$KCM_OUT.tmp/crds/"
  n=$(find "$KCM_OUT.tmp/crds" -name '*.yaml' | wc -l)
  [ "$n" -eq 21 ] || log "kcm $KCM_COMMIT: WARNING expected 21 kcm CRDs in the source, found $n"
  d=$(source_dir sigs.k8s.io/cluster-api "v$CAPI_VERSION" config/crd/bases)
  cp "$d/cluster.x-k8s.io_clusters.yaml" "$KCM_OUT.tmp/crds/"
  chmod u+w "$KCM_OUT.tmp/crds"/*.yaml
  printf 'kcm %s: 21 CRDs from %s\nsigs.k8s.io/cluster-api v%s: Cluster CRD from its Go module zip\n' "$KCM_COMMIT" "$(basename "$KCM_SRC")" "$CAPI_VERSION" >"$KCM_OUT.tmp/crds/SOURCES"
  touch "$KCM_OUT.tmp/crds/.complete"
  log "kcm $KCM_COMMIT: $n kcm CRDs + the Cluster API Cluster CRD (v$CAPI_VERSION)"
  # shellcheck disable=SC2086
  modules $args
  compile kcm "$KCM_OUT.tmp/kcm-manager" "$KCM_DIR" \
    -ldflags "-s -w -X github.com/K0rdent/kcm/internal/build.Name=kcm -X github.com/K0rdent/kcm/internal/build.Commit=$KCM_COMMIT" ./cmd/
  rm -rf "$KCM_OUT"; mv "$KCM_OUT.tmp" "$KCM_OUT"
}

targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(k8s etcd temporal crds)
for t in "${targets[@]}"; do
  case $t in k8s | etcd | temporal | crds | flux | helm | kcm | temporal-server) ;; *) echo "unknown target $t" >&2; exit 2 ;; esac
done
T0=$SECONDS
# Every download up front, in the background: downloads are network-bound, compiles CPU-bound. The first target's
# modules are fetched in the foreground by its own build.
first=1
for t in "${targets[@]}"; do
  case $t in
    k8s) w=$(want_k8s) ;; etcd) w=$(want_etcd) ;; temporal) w=$(want_temporal) ;; helm) w=$(want_helm) ;;
    temporal-server) w=$(want_temporal_server) ;; kcm) w=$(want_kcm) ;; crds) w= ;;
    flux) w=; for c in "${FLUX[@]}"; do
      read -r name _ <<<"$c"; fw=$(want_flux_controller "$name")
      # shellcheck disable=SC2086
      [ -z "$fw" ] || { [ $first -eq 1 ] && [ $FETCH_ONLY -eq 0 ] && first=0 || prefetch $fw; }
    done ;;
  esac
  [ -n "$w" ] || continue
  # shellcheck disable=SC2086
  if [ $first -eq 1 ] && [ $FETCH_ONLY -eq 0 ]; then first=0; else prefetch $w; fi
done
if [ $FETCH_ONLY -eq 1 ]; then
  rc=0
  for label in "${!FETCH_PID[@]}"; do
    wait "${FETCH_PID[$label]}" || rc=1
    grep -v 'downloading the modules' "$STATE/$label.fetch.log" >&2 || true
  done
  log "modules of ${targets[*]}: $([ $rc -eq 0 ] && echo in || echo 'NOT all in') after $((SECONDS - T0))s"
  exit $rc
fi
for t in "${targets[@]}"; do
  case $t in
    k8s) build_k8s ;; etcd) build_etcd ;; temporal) build_temporal ;; crds) build_crds ;; flux) build_flux ;; helm) build_helm ;;
    kcm) build_kcm ;; temporal-server) build_temporal_server ;;
  esac
done
log "all done in $((SECONDS - T0))s (cache: $CACHE)"
