import { existsSync } from "node:fs";

// Next loads .env files by itself; the worker and scripts read the same files here.
for (const file of [".env.local", ".env"]) {
  if (existsSync(file)) process.loadEnvFile(file);
}
