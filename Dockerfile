# syntax=docker/dockerfile:1
# Herald: one image for `herald push-node` and `herald operator`. The entrypoint is `herald`; the pod
# specs the operator and the chart write run `command: [herald]` with `args: [push-node]` or `[operator]`.
#   docker build -t ghcr.io/herald-push/herald:0.1.0 .
# test/install/image.test.ts runs these steps in a temporary folder (no Docker engine there) and starts
# `herald push-node` and `herald operator` from the result.

# 1. Compile the TypeScript (dev dependencies only live here).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json cli.ts ./
COPY protocol/ protocol/
COPY common/ common/
COPY push-node/ push-node/
COPY operator/ operator/
COPY client/ client/
COPY cli/ cli/
RUN npm run build

# 2. Production dependencies only, on the runtime's base (no dependency has native code, checked by the test).
FROM node:20-alpine AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# 3. Runtime: node, the production node_modules, the build output, the `herald` executable; no npm, no
#    compiler, no sources. Runs as uid 10001 (the pod specs set runAsNonRoot and runAsUser: 10001).
FROM node:20-alpine
ENV NODE_ENV=production
WORKDIR /app
RUN addgroup -S -g 10001 herald && adduser -S -D -H -u 10001 -G herald -h /nonexistent herald \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin/ ./bin/
COPY demo/ ./demo/
RUN ln -s /app/bin/herald.js /usr/local/bin/herald
USER 10001:10001
# push-node: HTTP + Socket.IO on PORT (8080 in a PushCluster); operator: metrics on METRICS_PORT (8081)
EXPOSE 8080 8081
ENTRYPOINT ["herald"]
CMD ["push-node"]
