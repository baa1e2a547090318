// Sums vitest's and Playwright's JSON reports into "N passed, N failed[, N skipped]":
// `sum-results.mjs <vitest.json>... <playwright.json>` (every report but the last is
// vitest's: the single-node run and the Redis Cluster run). A missing or unreadable report
// counts as one failure: a runner that crashed must not look like a green run. Exit status
// 1 when anything failed.
import { readFileSync } from "node:fs";

const files = process.argv.slice(2);
const playwrightFile = files.pop();
const vitestFiles = files;
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

for (const vitestFile of vitestFiles) {
  const v = read(vitestFile, "vitest");
  if (!v) continue;
  passed += v.numPassedTests ?? 0;
  failed += v.numFailedTests ?? 0;
  skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0);
  // A file that failed to load has no tests but is a failure.
  failed += (v.testResults ?? []).filter((f) => f.status === "failed" && (f.assertionResults ?? []).length === 0).length;
}

const p = read(playwrightFile, "playwright");
if (p) {
  const s = p.stats ?? {};
  passed += (s.expected ?? 0) + (s.flaky ?? 0);
  failed += s.unexpected ?? 0;
  skipped += s.skipped ?? 0;
  failed += (p.errors ?? []).length; // global setup or webServer failures
}

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
