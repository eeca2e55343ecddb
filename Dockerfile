# One image for the control plane and the sensor (the sensor needs bpftrace and a privileged, host-PID
# container; see docker-compose.yml).
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
RUN npm ci --no-audit --no-fund && npx tsc -b schema sensor control-plane cli && npm prune --omit=dev
ENTRYPOINT ["node", "/opt/vigil/cli/bin/run.js"]
