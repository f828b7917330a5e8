# The pool service: pool core, HTTP API, reconciler and the manager agent, in one process.
# The agent runtime has its own image (runtime/Dockerfile); with COMPUTE_PROVIDER=railway the pool starts agents
# there. Not built in CI (no Docker engine there): see docs/operations.md for what was and was not tested.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY contract ./contract
COPY pool ./pool
COPY convos ./convos
COPY manager-agent ./manager-agent
COPY app ./app
COPY sql ./sql
# Instances of the default LocalProcess provider need the runtime too.
COPY runtime ./runtime
ENV HOST=0.0.0.0 PORT=3001 DATA_DIR=/data
VOLUME /data
EXPOSE 3001
CMD ["node", "--import", "tsx", "app/main.ts"]
