import "./load-env";
import { runMigrations } from "@/lib/db/migrate";
import { env } from "@/lib/env";

const { databaseUrl } = env();
const started = performance.now();
await runMigrations(databaseUrl);
console.log(`migrations applied to ${new URL(databaseUrl).pathname.slice(1)} in ${Math.round(performance.now() - started)} ms`);
