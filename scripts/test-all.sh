#!/usr/bin/env bash
# The whole suite: vitest (unit + integration against the local Postgres and Redis), the
# integration tests of every Redis use again on a local Redis Cluster (vitest.cluster.config.ts,
# 3 masters and 3 replicas from this machine's redis-server, stopped when they end),
# Playwright (the built app in Debian's Chromium), then the history checker's short mode on
# both drivers (two instances of the built app, the worker, fault proxies; every read
# checked against the writes acknowledged before it; one test per driver). Ends with one
# line that sums them all: "N passed, N failed". Exit status is non-zero when anything
# failed.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p reports
rm -rf reports/vitest.json reports/vitest-cluster.json reports/playwright.json reports/summary.txt reports/torture

if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  echo "Chromium not found at ${CHROMIUM_PATH:-/usr/bin/chromium}: install it with 'apt-get install -y chromium' (Playwright's own browser download is not used)." >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# Postgres and Redis: the local ones, or embedded ones for this run when nothing answers
# (a machine with Node.js alone). The suite runs inside that wrapper, which says which.
if [ -z "${LOBBY_TEST_SERVICES:-}" ]; then
  exec node --import tsx scripts/test-services.ts bash scripts/test-all.sh "$@"
fi

npx vitest run --reporter=default --reporter=json --outputFile.json=reports/vitest.json
vitest_status=$?

# The cluster is made of this machine's redis-server (redis-memory-server builds no redis-cli):
# without them the run is skipped, and says so.
reports=(--vitest reports/vitest.json)
if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
  node --import tsx scripts/redis-cluster.ts -- npx vitest run --config vitest.cluster.config.ts --reporter=default --reporter=json --outputFile.json=reports/vitest-cluster.json
  cluster_status=$?
  reports+=(--vitest reports/vitest-cluster.json)
else
  echo "Redis Cluster run skipped: no redis-server and redis-cli on PATH (apt-get install redis-server)" >&2
  cluster_status=0
fi

PLAYWRIGHT_JSON_OUTPUT_NAME=reports/playwright.json npx playwright test --reporter=list,json
playwright_status=$?

npx tsx bench/torture/run.ts --driver both --mode short --out reports/torture
torture_status=$?

node scripts/sum-results.mjs "${reports[@]}" --playwright reports/playwright.json --torture reports/torture/tcp.json --torture reports/torture/rest.json | tee reports/summary.txt
summary_status=${PIPESTATUS[0]}
[ "$vitest_status" -eq 0 ] && [ "$cluster_status" -eq 0 ] && [ "$playwright_status" -eq 0 ] && [ "$torture_status" -eq 0 ] && [ "$summary_status" -eq 0 ]
