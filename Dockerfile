# itemstore container image: a build stage with every dependency compiles TypeScript, and a
# runtime stage holds only dist/ and the production dependencies. Both stages use the same
# Node.js LTS base, pinned by full version (bump it together with .github/workflows/ci.yml).
# No "syntax" directive: it would make BuildKit pull a frontend image, and the image must also
# build offline from a locally made base (scripts/image-smoke.sh).

FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 is a native addon: prebuild-install downloads a prebuilt binary, and where
# that fails (no network to GitHub, a Node.js without prebuilds) it compiles with node-gyp,
# which needs python3, make and g++, and reads the headers this base ships in /usr/local/include/node.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The management page at / (static files, no build step).
COPY public ./public
COPY certs ./certs
# Compile, then drop the dev dependencies so the runtime stage copies production ones only
# (the same tree `npm ci --omit=dev` installs, without compiling better-sqlite3 twice).
RUN npm run build \
    && npm prune --omit=dev --no-audit --no-fund

FROM node:24.22.3-bookworm-slim AS runtime
# NODE_OPTIONS as npm start's flags (package.json): V8's young generation capped at 8 MB per
# semi-space instead of 16, which keeps RSS ~15-25 MB lower under load at no measured cost in CPU
# (BENCHMARKS.md, "Memory"). An ECS task definition that sets NODE_OPTIONS replaces this value.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=8 \
    HOST=0.0.0.0 \
    PORT=8000
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/public ./public
# Extra CAs (the RDS bundle, fetched by the deploy workflow; see certs/README.md).
COPY --from=build /app/certs ./certs
# The code stays root-owned and read-only to the service user; only logs/ (api_server.log)
# and data/ (the default SQLite file) are writable. With a read-only root filesystem
# (ECS readonlyRootFilesystem) set LOG_DIR to a mounted volume or to "" (stdout only).
RUN mkdir -p logs data && chown node:node logs data
USER node
EXPOSE 8000
# node, not curl: slim images have no curl. Liveness only: /healthz touches no database.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form with node as PID 1, so ECS's SIGTERM reaches the server's shutdown handler (not npm or sh).
CMD ["node", "dist/server.js"]
