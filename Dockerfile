# One image for web, worker and migrations (docker-compose.yml picks the command).
#   docker build -t lobby .
#
# Three stages: `deps` installs everything the build needs, `build` compiles the app,
# the worker and the migration script, and the final stage holds only production
# dependencies and build output, and runs as the unprivileged `node` user.
# What may enter the build context at all is in .dockerignore (no .env, no host
# node_modules or .next, no .git).

FROM node:20-bookworm-slim AS base
WORKDIR /app
ENV NEXT_TELEMETRY_DISABLED=1

FROM base AS deps
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund

FROM base AS prod-deps
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM base AS build
COPY --from=deps /app/node_modules ./node_modules
COPY . .
# `next build` needs neither Postgres nor Redis (the e2e run builds with both unreachable).
RUN npm run build && npm run worker:build && npm run migrate:build

FROM base AS runtime
ENV NODE_ENV=production PORT=3000
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./
# `next start` loads next.config.ts again, and it imports lib/env.ts (zod only).
COPY --from=build /app/next.config.ts ./
COPY --from=build /app/lib/env.ts ./lib/env.ts
COPY --from=build /app/dist ./dist
COPY --from=build /app/drizzle ./drizzle
# Next may write under .next at run time (its own caches): the one tree the user owns.
COPY --from=build --chown=node:node /app/.next ./.next
USER node
EXPOSE 3000
# Node itself, not npm: signals reach the server (and the worker's SIGTERM handling).
CMD ["node", "node_modules/next/dist/bin/next", "start"]
