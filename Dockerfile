# syntax=docker/dockerfile:1
#
# ksm-flux container image.
#
#   docker build -t ksm-flux:dev .
#   docker run --rm ksm-flux:dev --help
#
# glibc base on purpose: Temporal's native core bridge (@temporalio/core-bridge) ships no musl build,
# so Alpine images cannot load it. The runtime stage holds only the compiled CLI (dist/), the prebuilt
# workflow bundle (dist/workflow-bundle.js, picked up by workflowSource() in src/worker.ts) and the
# production dependencies; no TypeScript sources and no devDependencies.
#
# test/integration/image.test.ts performs these build steps without a Docker engine, so keep to the
# instructions it understands: ARG, FROM, WORKDIR, ENV, LABEL, COPY [--from], RUN, USER, EXPOSE,
# ENTRYPOINT and CMD.

ARG NODE_IMAGE=node:20-bookworm-slim
ARG GO_IMAGE=golang:1.26-bookworm

# The values renderer: Go text/template + Sveltos' functions built to WebAssembly (src/values/wasm).
FROM ${GO_IMAGE} AS render
WORKDIR /src
COPY scripts/build-render.sh scripts/go-modules.sh ./scripts/
COPY src/values/wasm ./src/values/wasm
RUN bash scripts/build-render.sh --copy out/render.wasm

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY scripts ./scripts
COPY src ./src
# tsc into dist/, then the prebuilt workflow bundle dist/workflow-bundle.js; the renderer comes built from
# the render stage (npm run build keeps it, as this stage has no Go).
COPY --from=render /src/out/render.wasm ./dist/src/values/render.wasm
RUN npm run build
RUN npm prune --omit=dev

FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="ksm-flux" \
      org.opencontainers.image.description="k0rdent KSM provider that deploys ServiceSets with FluxCD, reconciled by Temporal workflows" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
WORKDIR /app
# bin/ksm-flux runs the compiled CLI; the listen addresses are the in-cluster defaults, also outside a cluster.
ENV NODE_ENV=production \
    KSM_FLUX_USE_DIST=1 \
    KSM_FLUX_METRICS_ADDR=:8080 \
    KSM_FLUX_HEALTH_ADDR=:8081
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# Numeric non-root user (the conventional "nonroot" id), so runAsNonRoot can verify it without a passwd entry.
USER 65532:65532
# 8080: /metrics, 8081: /healthz and /readyz.
EXPOSE 8080 8081
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["run"]
