// Sums the suite's reports into "N passed, N failed[, N skipped]":
//   sum-results.mjs [--vitest F]... [--playwright F]... [--torture F]...
// vitest's JSON reports (the single-node run, the Redis Cluster run), Playwright's, and the
// history checker's per-driver reports (npm run torture), one test each. A missing or
// unreadable report counts as one failure: a runner that crashed must not look like a
// green run. Exit status 1 when anything failed.
import { readFileSync } from "node:fs";

const reports = { vitest: [], playwright: [], torture: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const kind = argv[i]?.replace(/^--/, "");
  if (!(kind in reports) || argv[i + 1] === undefined) {
    console.error(`usage: sum-results.mjs [--vitest F]... [--playwright F]... [--torture F]... (got ${argv[i]})`);
    process.exit(2);
  }
  reports[kind].push(argv[i + 1]);
}

let passed = 0;
let failed = 0;
let skipped = 0;

function read(file, label) {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    console.error(`${label}: no report at ${file} (the runner did not finish)`);
    failed += 1;
    return undefined;
  }
}

for (const file of reports.vitest) {
  const v = read(file, "vitest");
  if (!v) continue;
  passed += v.numPassedTests ?? 0;
  failed += v.numFailedTests ?? 0;
  skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0);
  // A file that failed to load has no tests but is a failure.
  failed += (v.testResults ?? []).filter((f) => f.status === "failed" && (f.assertionResults ?? []).length === 0).length;
}

for (const file of reports.playwright) {
  const p = read(file, "playwright");
  if (!p) continue;
  const s = p.stats ?? {};
  passed += (s.expected ?? 0) + (s.flaky ?? 0);
  failed += s.unexpected ?? 0;
  skipped += s.skipped ?? 0;
  failed += (p.errors ?? []).length; // global setup or webServer failures
}

// A torture run passes when its summary lists no failure (stale reads, lost writes, 5xx
// outside the Postgres outage, no convergence, an out-of-band change not seen in time).
for (const file of reports.torture) {
  const t = read(file, "torture");
  if (!t) continue;
  const reasons = t.summary?.failed;
  if (Array.isArray(reasons) && reasons.length === 0) passed += 1;
  else {
    failed += 1;
    console.error(`torture ${t.driver ?? file}: ${Array.isArray(reasons) ? reasons.join("; ") : "no summary"}`);
  }
}

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
