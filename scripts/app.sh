#!/usr/bin/env bash
# `npm run app`: the whole product on this machine, from a fresh clone (after `npm ci`):
# migrates (creating the database if needed), seeds 50 rooms into an empty database,
# builds, then runs the web server and the reconciliation worker until Ctrl-C.
# Needs Postgres and Redis (the local ones, or `docker compose up -d postgres redis`).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .env ]; then
  # A fresh machine: the example settings plus a session secret of its own.
  secret=$(node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))")
  sed "s/^SESSION_SECRET=\$/SESSION_SECRET=$secret/" .env.example > .env
  echo "created .env from .env.example, with a new SESSION_SECRET"
fi

npm run --silent db:migrate
npm run --silent db:seed -- --rooms 50   # deterministic names: a re-run inserts nothing
npm run --silent build
npm run --silent worker:build

export NODE_ENV=production
node --enable-source-maps dist/worker.mjs &
worker=$!
trap 'kill -TERM $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM
node node_modules/next/dist/bin/next start
