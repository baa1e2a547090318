import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sourceFingerprint } from "./build-if-stale";

/** A small git work tree of its own, shaped like the project. */
let dir = "";
const write = (file: string, text: string) => {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), text);
};
const fingerprint = (env: Record<string, string> = {}) => sourceFingerprint(env, dir);

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "lobby-fingerprint-"));
  execFileSync("git", ["init", "-q"], { cwd: dir });
  write(".gitignore", ".next/\nnode_modules/\n");
  write("app/page.tsx", "export default function Page() { return null; }\n");
  write("lib/rooms.ts", "export const a = 1;\n");
  write("e2e/home.spec.ts", "// a spec\n");
  write("README.md", "# readme\n");
  execFileSync("git", ["add", "-A"], { cwd: dir });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("sourceFingerprint (what decides that `npm run app` may skip `next build`)", () => {
  it("changes with what the build reads, tracked or not, and with PAGE_CACHE and NEXT_PUBLIC_*", () => {
    const base = fingerprint();
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprint()).toBe(base);

    write("lib/rooms.ts", "export const a = 2;\n");
    const edited = fingerprint();
    expect(edited).not.toBe(base);

    write("lib/new-file.ts", "export const b = 1;\n"); // untracked, not ignored
    const added = fingerprint();
    expect(added).not.toBe(edited);

    write(".env", "PAGE_CACHE=process\n"); // ignored by git, read by the build
    const withEnvFile = fingerprint();
    expect(withEnvFile).not.toBe(added);

    expect(fingerprint({ PAGE_CACHE: "process" })).not.toBe(withEnvFile);
    expect(fingerprint({ NEXT_PUBLIC_X: "1" })).not.toBe(withEnvFile);
    expect(fingerprint({ DATABASE_URL: "postgres://elsewhere/x" })).toBe(withEnvFile);
  });

  it("ignores tests, specs, docs and git-ignored output", () => {
    const base = fingerprint();
    write("e2e/home.spec.ts", "// edited\n");
    write("lib/rooms.test.ts", "// a new test\n");
    write("README.md", "# edited\n");
    write("scripts/tool.ts", "// a script\n");
    write(".next/BUILD_ID", "abc\n");
    expect(fingerprint()).toBe(base);
  });

  it("is null outside a git work tree (a tarball): the build always runs", () => {
    const bare = mkdtempSync(path.join(tmpdir(), "lobby-no-git-"));
    try {
      expect(sourceFingerprint({}, bare)).toBeNull();
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
