# One image for every Tandem process; docker-compose.yml picks the process with `command`.
# Pushed under TANDEM_IMAGE:TANDEM_TAG (see the README's "Running on several hosts").
# Stage 1 installs everything, builds dist/ (npm run build) and drops the dev dependencies; the
# image runs the compiled JavaScript with plain node. tsx stays (a dependency), so job types in
# TANDEM_JOBS_DIR may be .ts or import @tandem packages.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY jobs/package.json jobs/
COPY apps/master/package.json apps/master/
COPY apps/worker/package.json apps/worker/
COPY apps/cli/package.json apps/cli/
COPY apps/view-service/package.json apps/view-service/
COPY apps/console/package.json apps/console/
# No scripts: `prepare` would build before the sources are here; the build is its own step below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY shared shared
COPY jobs jobs
COPY apps apps
COPY client client
COPY bin bin
COPY scripts/build.mjs scripts/build-client.mjs scripts/healthcheck.mjs scripts/
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
# Mount points: extra job types (TANDEM_JOBS_DIR) and the cli's --out folder.
RUN mkdir -p jobs.d out
ENV NODE_ENV=production
# The view service, the masters and the console; healthchecks fetch /health on these.
EXPOSE 7000 7100 7300
CMD ["node", "--enable-source-maps", "dist/master.js"]
