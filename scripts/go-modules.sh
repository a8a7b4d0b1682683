# fetch_modules, sourced by scripts/build-tools.sh and scripts/build-render.sh: the one place that downloads Go
# modules for a build and tells a transient network error from a final refusal. Needs log() and $STATE.

# Downloads the modules that building packages $4… in directory $2 needs, exactly as its go.mod/go.sum ($3) name
# them, and writes the package list to $STATE/$1.deps (for the compile's progress count). Transient errors (time-outs,
# resets, 5xx) are retried after 5, 10, 20 and 40 s (KSM_FLUX_FETCH_DELAY sets the first delay); a version the proxy
# refuses, or a pin that does not cover the build, is final: one line names the module, the version and the file.
fetch_modules() { # $1 label, $2 dir, $3 pin file, $4… packages
  local label=$1 dir=$2 pin=$3 try delay=${KSM_FLUX_FETCH_DELAY:-5} err refused
  shift 3
  log "$label: downloading the modules $pin names for $*…"
  for try in 1 2 3 4 5; do
    # Go's "downloading …" progress lines are not the error.
    if err=$(cd "$dir" && go list -deps "$@" 2>&1 >"$STATE/$label.deps"); then return 0; fi
    err=$(grep -v '^go: downloading ' <<<"$err" || true)
    refused=$(grep -oE '[^ :"]+@v[^ :"]+: reading [^ ]+: (403 Forbidden|404 Not Found|410 Gone)' <<<"$err" | head -n1 || true)
    if [ -n "$refused" ]; then
      local mv=${refused%%: reading*}
      log "$label: the Go module proxy refuses ${mv%@*} ${mv##*@} (${refused##*: }); $pin pins it: pin a served version, or a replace with its reason, there (scripts/pin-tools.sh), then build again"
      return 2
    fi
    if grep -qE 'missing go.sum entry|updates to go.mod needed|no required module provides|checksum mismatch|SECURITY ERROR' <<<"$err"; then
      log "$label: $pin does not cover this build (regenerate it with scripts/pin-tools.sh):"
      head -n 5 <<<"$err" | sed 's/^/  /' >&2
      return 2
    fi
    [ "$try" -lt 5 ] || break
    log "$label: module download failed (attempt $try of 5), retrying in ${delay}s: $(grep -m1 . <<<"$err")"
    sleep "$delay"; delay=$((delay * 2))
  done
  log "$label: module download still failing after 5 attempts:"
  head -n 10 <<<"$err" | sed 's/^/  /' >&2
  return 1
}

