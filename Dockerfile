# One image for the control plane and the sensor (the sensor needs bpftrace and a privileged, host-PID
# container; see docker-compose.yml).
FROM node:20-bookworm-slim AS native
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev
COPY sensor/native/pageout.c /src/pageout.c
RUN cc -O2 -Wall -Wextra -o /vigil-pageout /src/pageout.c

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends bpftrace mount \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/vigil
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY schema schema
COPY sensor sensor
COPY control-plane control-plane
COPY cli cli
COPY probes probes
COPY scripts/oclif-manifest.mjs scripts/oclif-manifest.mjs
COPY --from=native /vigil-pageout sensor/build/vigil-pageout
RUN npm ci --no-audit --no-fund && npx tsc -b schema sensor control-plane cli && node scripts/oclif-manifest.mjs && npm prune --omit=dev
ENTRYPOINT ["node", "/opt/vigil/cli/bin/run.js"]
