# nvml-exporter image: a build stage compiles the N-API addon, the simulated NVML and the
# TypeScript; the runtime stage carries only production dependencies and the build output.
#
# Reproducible: the base is pinned by tag below, dependencies come from package-lock.json
# through `npm ci`. To pin the base by digest as well, look the digest up once
# (`docker buildx imagetools inspect node:20-bookworm-slim`) and build with
#   --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:<digest>
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# node-gyp uses the headers that ship in the Node image instead of downloading them.
ENV npm_config_nodedir=/usr/local
# Dependencies first, so this layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY binding.gyp tsconfig.json tsconfig.build.json ./
COPY native/ native/
COPY lib/ lib/
COPY bin/ bin/
COPY proto/ proto/
COPY etc/ etc/
# The addon and the simulated NVML (node-gyp), then dist/ (tsc).
RUN npm run build \
 && test -f build/Release/nvml_addon.node \
 && test -f dist/bin/nvml-exporter.js \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# The NVIDIA container runtime injects libnvidia-ml.so.1 and the /dev/nvidia* nodes when it sees
# these; `utility` is the capability that carries NVML. No CUDA is needed.
# NVIDIA_MIG_MONITOR_DEVICES=all: on a MIG-enabled GPU, NVML answers the GPU's own memory only to a
# container with the MIG monitoring capability, which the toolkit grants with this variable.
ENV NODE_ENV=production \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=utility \
    NVIDIA_MIG_MONITOR_DEVICES=all
WORKDIR /opt/nvml-exporter
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules/ ./node_modules/
COPY --from=build /src/dist/ ./dist/
COPY --from=build /src/build/Release/nvml_addon.node /src/build/Release/nvml_sim.so /src/build/Release/nvml_sim_legacy.so ./build/Release/
COPY --from=build /src/etc/ ./etc/
COPY --from=build /src/proto/ ./proto/
# dcgm-exporter's default counters path, so migrated `-f /etc/dcgm-exporter/default-counters.csv`
# arguments keep working.
COPY --from=build /src/etc/default-counters.csv /etc/dcgm-exporter/default-counters.csv
# Non-root by default: NVML needs only the device nodes the runtime injects. The DaemonSet runs it
# as uid 0 (with every capability dropped) only to read the kubelet's pod-resources socket.
USER node
# NODE_NAME (the Hostname label) comes from the pod spec (fieldRef spec.nodeName).
EXPOSE 9400
# No HEALTHCHECK: Kubernetes probes /health and /ready.
# The bin itself, so that its `#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1`
# line applies (node replaces env: it is PID 1 and gets the signals).
ENTRYPOINT ["/opt/nvml-exporter/dist/bin/nvml-exporter.js"]
