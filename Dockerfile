# One image for every Tandem process; docker-compose.yml picks the process with `command`.
# Pushed under TANDEM_IMAGE:TANDEM_TAG (see the README's "Running on several hosts").
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY jobs/package.json jobs/
COPY apps/master/package.json apps/master/
COPY apps/worker/package.json apps/worker/
COPY apps/cli/package.json apps/cli/
COPY apps/view-service/package.json apps/view-service/
COPY apps/console/package.json apps/console/
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY shared shared
COPY jobs jobs
COPY apps apps
COPY bin bin
# Mount points: extra job types (TANDEM_JOBS_DIR) and the cli's --out folder.
RUN mkdir -p jobs.d out
ENV NODE_ENV=production
# The view service, the masters and the console; healthchecks fetch /health on these.
EXPOSE 7000 7100 7300
CMD ["node", "--import", "tsx", "apps/master/src/main.ts"]
