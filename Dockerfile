# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies, run with production dependencies only, as a non-root user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# postinstall applies the receipt gate to Baileys (scripts/patch-baileys.mjs fails the build if it cannot).
COPY scripts/patch-baileys.mjs ./scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/patch-baileys.mjs ./scripts/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    STORAGE_DIR=/data \
    HEALTH_FILE=/tmp/wa-worker.health.json
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# No HTTP: the check reads the health file the worker rewrites from its event loop.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/cli/healthcheck.js"]
# SIGTERM → graceful shutdown (stop consuming, finish commands, flush credentials, close sockets).
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
