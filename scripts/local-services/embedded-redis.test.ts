import { createServer } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findRedisServer, redisServerOnPath, startEmbeddedRedis } from "./embedded-redis";
import { probeTcp } from "./probe";

/** A port nothing listens on right now (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const dir = mkdtempSync(path.join(tmpdir(), "lobby-redis-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const onPath = redisServerOnPath();

describe("embedded Redis", () => {
  it.skipIf(!onPath)("redis-server from PATH: answers on the asked port, and stop leaves nothing listening", async () => {
    const endpoint = { host: "127.0.0.1", port: await freePort() };
    expect(await probeTcp(endpoint)).toEqual({ state: "nothing" });
    const binary = await findRedisServer(() => {});
    expect(binary).toEqual({ path: onPath, source: "redis-server from PATH" });
    const redis = await startEmbeddedRedis(binary, endpoint, dir, path.join(dir, "redis.log"));
    try {
      expect(await probeTcp(endpoint)).toEqual({ state: "answers" });
    } finally {
      expect(await redis.stop(5_000)).toBe(true);
    }
    expect(redis.child.process.exitCode ?? redis.child.process.signalCode).not.toBeNull();
    expect(await probeTcp(endpoint)).toEqual({ state: "nothing" });
  });

  it.skipIf(!onPath)("a port already taken: the start fails with redis-server's own reason, in one line", async () => {
    // A listener that reads (and never answers), so closing it does not wait on unread sockets.
    const taken = createServer((socket) => socket.resume());
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const { port } = taken.address() as { port: number };
    try {
      const binary = { path: onPath!, source: "redis-server from PATH" };
      await expect(startEmbeddedRedis(binary, { host: "127.0.0.1", port }, dir, path.join(dir, "taken.log"))).rejects.toThrow(
        /redis-server exited \(code 1\) while starting: .*(in use|bind)/i,
      );
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it("no redis-server on PATH and redis-memory-server cannot fetch Redis's source: says what to do", async () => {
    // The download address is one where nothing listens, so the outcome is the same on
    // every machine (with network access, redis-memory-server would build Redis here).
    const unreachable = `http://127.0.0.1:${await freePort()}/redis-stable.tar.gz`;
    const previous = { url: process.env.REDISMS_DOWNLOAD_URL, dir: process.env.REDISMS_DOWNLOAD_DIR };
    process.env.REDISMS_DOWNLOAD_URL = unreachable;
    process.env.REDISMS_DOWNLOAD_DIR = path.join(dir, "binaries");
    const said: string[] = [];
    try {
      await expect(findRedisServer((line) => said.push(line), path.join(dir, "empty-bin"))).rejects.toThrow(
        /^no redis-server on PATH, and redis-memory-server could not build one \(.+\): install Redis \(apt-get install redis-server, brew install redis\) or point REDIS_URL at one$/,
      );
      expect(said).toEqual(["Redis: no redis-server on PATH; redis-memory-server downloads and builds one (once, a minute or two)"]);
    } finally {
      for (const [k, v] of [["REDISMS_DOWNLOAD_URL", previous.url], ["REDISMS_DOWNLOAD_DIR", previous.dir]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
