# syntax=docker/dockerfile:1
# One image for both processes: `node dist/src/cli.js api` (default) or `... worker`.
# Node 24 LTS at the exact version of .nvmrc (scripts/node-env.sh installs the same
# one where there is no Docker; scripts/node-version.test.ts holds them equal): a
# floating tag would change Node under a rebuild.
FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency's install script runs; the one step the project needs after
# installing, the fixes to kafkajs (patches/README.md), runs explicitly.
COPY patches ./patches
RUN npm ci --ignore-scripts --no-audit --no-fund && npx patch-package
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY topology ./topology
# The web UI: built (esbuild, Preact, uPlot: development dependencies) into dist/ui, which the API serves under /ui.
COPY ui ./ui
COPY .nvmrc ./
COPY scripts/build-ui.ts scripts/ui-size.ts scripts/node-env.sh ./scripts/
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:24.22.3-bookworm-slim
# In a container both servers listen on every interface (outside, they default to loopback).
ENV NODE_ENV=production API_HOST=0.0.0.0 API_OPS_HOST=0.0.0.0 WORKER_HTTP_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY schemas ./schemas
COPY migrations ./migrations
# The image's `node` user, by number so Kubernetes can verify runAsNonRoot.
USER 1000:1000
# 8080: the API's clients; 9465: the API's /metrics and detailed /readyz; 9464: the worker's.
EXPOSE 8080 9465 9464
# The API's liveness (the default command); docker-compose.yml gives the worker its own (port 9464).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node is PID 1 with its own SIGTERM handler (src/cli.ts), so shutdown is graceful.
# A 64 MB young generation for the API and the worker alike, as the npm start
# scripts set it (testing/processes.ts says why).
ENV NODE_OPTIONS="--max-semi-space-size=64"
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["api"]
