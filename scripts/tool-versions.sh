# The versions of every tool the tests and the demo build, sourced by scripts/pin-tools.sh (which pins each one's
# module graph in tools/<component>/) and scripts/build-tools.sh (which builds from those graphs and keys the cache
# by these versions). src/testenv/versions.ts must name the same ones. Changing one: edit it here and in
# versions.ts, run scripts/pin-tools.sh <component>, review and commit tools/<component>/.
K8S_VERSION=${K8S_VERSION:-1.36.3}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
TEMPORAL_CLI_VERSION=${TEMPORAL_CLI_VERSION:-1.5.1}
# The production Temporal server for `testenv up --temporal postgres`: the server the dev server above embeds (CLI
# v1.5.1 is server 1.29.1 with UI 2.42.1), built as a standalone server, its SQL schema tool and the Web UI server.
TEMPORAL_SERVER_VERSION=${TEMPORAL_SERVER_VERSION:-1.29.1}
TEMPORAL_UI_VERSION=${TEMPORAL_UI_VERSION:-2.42.1}
HELM_CONTROLLER_VERSION=${HELM_CONTROLLER_VERSION:-1.6.3}
KUSTOMIZE_CONTROLLER_VERSION=${KUSTOMIZE_CONTROLLER_VERSION:-1.9.4}
SOURCE_CONTROLLER_VERSION=${SOURCE_CONTROLLER_VERSION:-1.9.4}
KCM_VERSION=${KCM_VERSION:-1.9.0}
HELM_VERSION=${HELM_VERSION:-3.19.0}
# kcm's controller manager is built from a source extract (its module is not served by the Go module proxy) with
# that extract's own go.mod and go.sum; the commit names the cache entry. The Cluster API Cluster CRD comes from
# that module's zip, at the version kcm's go.mod requires (kcm lists Clusters).
KCM_COMMIT=${KCM_COMMIT:-8373a24}
CAPI_VERSION=${CAPI_VERSION:-1.13.4}
# Sveltos' SveltosCluster CRD for the tests (the libsveltos version Sveltos' addon-controller uses).
LIBSVELTOS_VERSION=${LIBSVELTOS_VERSION:-1.14.0}
