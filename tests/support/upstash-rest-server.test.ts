import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { lua, type CacheStore } from "../../lib/cache/store";
import { createUpstashStore } from "../../lib/cache/upstash-store";
import { REDIS_URL } from "./services";
import { createTestRedis, type TestRedis } from "./test-env";
import { startUpstashRestServer, type UpstashRestServer } from "./upstash-rest-server";

/**
 * The local Upstash REST server, driven by the app's own driver (createUpstashStore, so the
 * real @upstash/redis client with the app's options: base64 responses, auto-pipelining,
 * automaticDeserialization off) and by raw fetch for the wire format itself.
 */

let server: UpstashRestServer;
let store: CacheStore;
let redis: TestRedis;
let k: (name: string) => string;

beforeAll(async () => {
  server = await startUpstashRestServer({ redisUrl: REDIS_URL });
  store = createUpstashStore({ url: server.url, token: server.token });
});
afterAll(async () => {
  await store?.close();
  await server?.close();
});
beforeEach(() => {
  redis = createTestRedis();
  k = (name) => `${redis.prefix}${name}`;
});
afterEach(async () => {
  vi.restoreAllMocks();
  await redis.close(); // SCAN + DEL of this test's prefix
});

/** Records the path and command names of every request the client sends. */
function spyRequests() {
  const requests: { path: string; commands: string[] }[] = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const body = JSON.parse(String(init?.body)) as unknown[];
    const commands = (Array.isArray(body[0]) ? (body as unknown[][]) : [body]).map((c) => String(c[0]));
    requests.push({ path: url.pathname, commands });
    return realFetch(input, init);
  });
  return requests;
}

/** A script body unique to this run, so Redis's (global) script cache cannot already hold it. */
const fresh = (source: string) => lua(`-- ${randomBytes(8).toString("hex")}\n${source}`);

describe("through the app's Upstash driver", () => {
  it("get / set with EX / ttl / del / mget / ping / publish", async () => {
    expect(await store.get(k("missing"))).toBeNull();
    await store.set(k("a"), "1");
    await store.set(k("b"), "two", 60);
    expect(await store.get(k("a"))).toBe("1");
    expect(await store.get(k("b"))).toBe("two");
    expect(await store.ttl(k("a"))).toBe(-1);
    const ttl = await store.ttl(k("b"));
    expect(ttl).toBeGreaterThan(55);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await redis.raw.ttl(k("b"))).toBe(ttl);
    expect(await store.mget([k("a"), k("missing"), k("b")])).toEqual(["1", null, "two"]);
    expect(await store.mget([])).toEqual([]);
    expect(await store.del([k("a"), k("b"), k("missing")])).toBe(2);
    expect(await store.get(k("a"))).toBeNull();
    await expect(store.ping()).resolves.toBeUndefined();
    expect(await store.publish(k("channel"), "hello")).toBe(0);
  });

  it("publish reaches a real subscriber", async () => {
    const sub = (redis.raw as Redis).duplicate();
    try {
      const got = new Promise<string>((resolve) => sub.on("message", (_channel: string, message: string) => resolve(message)));
      await sub.subscribe(k("channel"));
      expect(await store.publish(k("channel"), '{"type":"x"}')).toBe(1);
      expect(await got).toBe('{"type":"x"}');
    } finally {
      sub.disconnect();
    }
  });

  it("scan walks every key under a pattern, cursor as a string", async () => {
    const names = Array.from({ length: 40 }, (_, i) => k(`scan:${i}`));
    await redis.raw.mset(Object.fromEntries(names.map((n) => [n, "x"])));
    const seen = new Set<string>();
    let cursor = "0";
    let rounds = 0;
    do {
      const [next, keys] = await store.scan(cursor, `${redis.prefix}scan:*`, 10);
      expect(typeof next).toBe("string");
      keys.forEach((key) => seen.add(key));
      cursor = next;
      rounds++;
    } while (cursor !== "0");
    expect(rounds).toBeGreaterThan(1);
    expect([...seen].sort()).toEqual([...names].sort());
  });

  it("a value that looks like JSON comes back as the identical string", async () => {
    const json = '{"v":1,"data":[1,2]}';
    await store.set(k("json"), json, 60);
    expect(await store.get(k("json"))).toBe(json);
    expect(await store.mget([k("json")])).toEqual([json]);
    // Strings JSON.parse would turn into other things.
    for (const value of ["123", "1e3", "true", "null", '"quoted"', "[]", "OK", "PONG", ""]) {
      await store.set(k("odd"), value);
      expect(await store.get(k("odd")), value).toBe(value);
    }
  });

  it("a unicode value round-trips byte-exact", async () => {
    const value = '{"name":"Café Zoë — naïve façade","emoji":"😀🎉👩‍💻🇫🇷","cjk":"中文","nul":"a\\u0000b"}';
    await store.set(k("u"), value, 60);
    expect(await store.get(k("u"))).toBe(value);
    expect((await redis.raw.getBuffer(k("u")))?.equals(Buffer.from(value, "utf8"))).toBe(true);
    // And the other way: bytes written by the TCP driver read back through REST.
    await redis.raw.set(k("u2"), "ñ 😀 é");
    expect(await store.mget([k("u2"), k("u")])).toEqual(["ñ 😀 é", value]);
  });

  it("eval: EVALSHA, NOSCRIPT, then EVAL; EVALSHA alone once loaded", async () => {
    const script = fresh("return redis.call('SET', KEYS[1], ARGV[1])");
    expect(await redis.raw.script("EXISTS", script.sha1)).toEqual([0]);
    const requests = spyRequests();
    expect(await store.eval(script, [k("s")], ["first"])).toBe("OK");
    expect(requests.flatMap((r) => r.commands)).toEqual(["evalsha", "eval"]);
    expect(await redis.raw.script("EXISTS", script.sha1)).toEqual([1]);
    requests.length = 0;
    expect(await store.eval(script, [k("s")], [2])).toBe("OK");
    expect(requests.flatMap((r) => r.commands)).toEqual(["evalsha"]);
    expect(await store.get(k("s"))).toBe("2");
  });

  it("scripts returning tables: {1, json}, {2, '0'}, {0, ''}, nil, nested", async () => {
    const json = '{"v":7,"data":{"name":"Zoë 😀","ids":[1,2]}}';
    await store.set(k("hit"), json);
    const getOrLock = fresh(`
      local v = redis.call('GET', KEYS[1])
      if v then return {1, v} end
      if ARGV[1] == 'lock' then return {2, redis.call('GET', KEYS[2]) or '0'} end
      return {0, ''}`);
    expect(await store.eval(getOrLock, [k("hit"), k("gen")], ["lock"])).toEqual([1, json]);
    expect(await store.eval(getOrLock, [k("miss"), k("gen")], ["lock"])).toEqual([2, "0"]);
    expect(await store.eval(getOrLock, [k("miss"), k("gen")], ["no"])).toEqual([0, ""]);
    expect(await store.eval(fresh("return nil"), [], [])).toBeNull();
    expect(await store.eval(fresh("return 42"), [], [])).toBe(42);
    expect(await store.eval(fresh("return {'OK', 'PONG', {3, 'x', {'y'}}, false}"), [], [])).toEqual([
      "OK",
      "PONG",
      [3, "x", ["y"]],
      null,
    ]);
  });

  it("a script error rejects with Redis's message", async () => {
    await store.set(k("s"), "not a number");
    await expect(store.eval(fresh("return redis.call('INCR', KEYS[1])"), [k("s")], [])).rejects.toThrow(/not an integer/);
  });

  it("a wrong token makes the client throw", async () => {
    const wrong = createUpstashStore({ url: server.url, token: "not-the-token" });
    await expect(wrong.get(k("a"))).rejects.toThrow(/Unauthorized/);
    await expect(wrong.set(k("a"), "1")).rejects.toThrow(/Unauthorized/);
    expect(await redis.raw.exists(k("a"))).toBe(0);
  });

  it("commands issued in one tick are auto-pipelined, and all correct", async () => {
    const requests = spyRequests();
    const n = 30;
    const values = Array.from({ length: n }, (_, i) => `{"i":${i},"s":"é${i}😀"}`);
    // Writes in one tick: one /pipeline request.
    await Promise.all(values.map((v, i) => store.set(k(`p:${i}`), v, i % 2 ? 60 : undefined)));
    expect(requests).toEqual([{ path: "/pipeline", commands: Array(n).fill("set") }]);
    // Reads in one tick. The client batches reads and writes separately and sends the two
    // batches concurrently, so a read may overtake a write of the same tick: keep them apart.
    requests.length = 0;
    const [gets, mget, ttls] = await Promise.all([
      Promise.all(values.map((_, i) => store.get(k(`p:${i}`)))),
      store.mget(values.map((_, i) => k(`p:${i}`))),
      Promise.all(values.map((_, i) => store.ttl(k(`p:${i}`)))),
    ]);
    expect(gets).toEqual(values);
    expect(mget).toEqual(values);
    ttls.forEach((t, i) => (i % 2 ? expect(t).toBeGreaterThan(0) : expect(t).toBe(-1)));
    expect(requests.map((r) => r.path)).toEqual(["/pipeline"]);
    expect(requests[0]?.commands).toHaveLength(2 * n + 1);
  });

  it("one failing command in an auto-pipeline rejects alone", async () => {
    await store.set(k("ok"), "fine");
    await redis.raw.hset(k("hash"), "f", "v");
    const requests = spyRequests();
    const [get, wrong, ping] = await Promise.allSettled([store.get(k("ok")), store.get(k("hash")), store.ping()]);
    expect(get).toEqual({ status: "fulfilled", value: "fine" });
    expect(wrong).toMatchObject({ status: "rejected", reason: { message: expect.stringMatching(/WRONGTYPE/) } });
    expect(ping).toEqual({ status: "fulfilled", value: undefined });
    expect(requests).toEqual([{ path: "/pipeline", commands: ["get", "get", "ping"] }]);

    // NOSCRIPT arrives in a pipeline slot too ("Command failed: NOSCRIPT ..."): the store still falls back.
    requests.length = 0;
    const script = fresh("return 'loaded'");
    const [a, b] = await Promise.all([store.eval(script, [], []), store.get(k("ok"))]);
    expect([a, b]).toEqual(["loaded", "fine"]);
    expect(requests).toEqual([
      { path: "/pipeline", commands: ["evalsha"] }, // writes and reads go in separate batches
      { path: "/pipeline", commands: ["get"] },
      { path: "/pipeline", commands: ["eval"] },
    ]);
  });
});

describe("the raw wire format", () => {
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

  it("401 with a JSON error on a wrong or missing token", async () => {
    for (const headers of [{ Authorization: "Bearer wrong" }, { Authorization: "" }, { Authorization: server.token }]) {
      const res = await post("/", ["ping"], headers);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: expect.any(String) });
    }
    const res = await post("/pipeline", [["ping"]], { Authorization: "Bearer wrong" });
    expect(res.status).toBe(401);
  });

  it("single commands: numbers become strings, errors are 400 ERR, bad JSON is 400", async () => {
    let res = await post("/", ["set", k("n"), 12.5, "ex", 60]);
    expect([res.status, await res.json()]).toEqual([200, { result: "OK" }]);
    res = await post("/", ["get", k("n")]);
    expect(await res.json()).toEqual({ result: "12.5" });
    res = await post("/", ["set", k("b"), true]);
    expect(await redis.raw.get(k("b"))).toBe("true");
    res = await post("/", ["get", k("nothing")]);
    expect(await res.json()).toEqual({ result: null });

    res = await post("/", ["nosuchcommand", "x"]);
    expect(res.status).toBe(400);
    expect((await res.json()) as { error: string }).toEqual({ error: expect.stringMatching(/^ERR /) });
    res = await post("/", '["get", ');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.any(String) });
    res = await post("/", { not: "a command" });
    expect(res.status).toBe(400);
  });

  it("base64: every string encoded at any depth, numbers and null as they are", async () => {
    await redis.raw.set(k("u"), "Zoë 😀");
    let res = await post("/", ["get", k("u")], { "Upstash-Encoding": "base64" });
    expect(await res.json()).toEqual({ result: b64("Zoë 😀") });
    res = await post("/", ["set", k("x"), "1"], { "Upstash-Encoding": "base64" });
    expect(await res.json()).toEqual({ result: b64("OK") });
    res = await post("/", ["eval", "return {1, 'OK', {'é', 2, false}, ''}", 0], { "Upstash-Encoding": "base64" });
    expect(await res.json()).toEqual({ result: [1, b64("OK"), [b64("é"), 2, null], ""] });
    res = await post("/pipeline", [["get", k("u")], ["lpush", k("u"), "x"]], { "Upstash-Encoding": "base64" });
    expect(await res.json()).toEqual([
      { result: b64("Zoë 😀") },
      { error: expect.stringMatching(/^WRONGTYPE/) }, // errors never encoded
    ]);
  });

  it("/pipeline runs every command and reports each slot", async () => {
    const res = await post("/pipeline", [["set", k("p"), "1"], ["incr", k("p")], ["hset", k("p"), "f", "v"], ["get", k("p")]]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([
      { result: "OK" },
      { result: 2 },
      { error: expect.stringMatching(/^WRONGTYPE/) },
      { result: "2" },
    ]);
  });

  it("/multi-exec runs inside MULTI/EXEC", async () => {
    let res = await post("/multi-exec", [["set", k("m"), "1"], ["incr", k("m")], ["hset", k("h"), "a", "1", "b", "2"], ["hgetall", k("h")]]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([{ result: "OK" }, { result: 2 }, { result: 2 }, { result: ["a", "1", "b", "2"] }]);
    // A command rejected while queueing aborts the whole transaction: nothing runs.
    res = await post("/multi-exec", [["set", k("m2"), "1"], ["set", k("m2")]]);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.stringMatching(/EXECABORT/) });
    expect(await redis.raw.exists(k("m2"))).toBe(0);
  });

  it("refuses commands that would hijack the shared connection", async () => {
    for (const command of [["subscribe", k("c")], ["multi"], ["select", 1]]) {
      const res = await post("/", command);
      expect(res.status).toBe(400);
    }
    expect(await (await post("/", ["ping"])).json()).toEqual({ result: "PONG" });
  });
});

it("close() ends the server at once: keep-alive sockets, a request in flight", async () => {
  const own = await startUpstashRestServer({ redisUrl: REDIS_URL });
  const client = createUpstashStore({ url: own.url, token: own.token });
  await client.ping(); // leaves a keep-alive socket open
  const blocked = fetch(own.url, {
    method: "POST",
    headers: { Authorization: `Bearer ${own.token}` },
    body: JSON.stringify(["blpop", `${randomBytes(5).toString("hex")}:never`, 10]),
  });
  await new Promise((resolve) => setTimeout(resolve, 100)); // let BLPOP reach Redis
  await own.close();
  // Had close() waited for the request in flight, BLPOP would have answered null after 10 s
  // and the fetch resolved: it rejects because close() cut it.
  await expect(blocked).rejects.toThrow();
  await expect(client.ping()).rejects.toThrow();
});
