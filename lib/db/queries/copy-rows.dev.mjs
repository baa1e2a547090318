// The list thread's entry when the app runs from its TypeScript sources (tsx, vitest): a
// worker thread does not inherit the parent's loader on Node 20, so it registers tsx
// itself. The worker bundle (`npm run worker:build`) starts the built thread directly.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
