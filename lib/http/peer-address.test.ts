import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientIpFromHeaders } from "./forwarded-for";
import { PEER_HEADER, installPeerStamp, peerAddressFromHeaders } from "./peer-address";

/**
 * A real Node HTTP server, as `next start` runs one, and requests from chosen loopback
 * addresses (127.0.0.0/8 is all loopback): the key of the per-IP limits is the socket
 * address, whatever the client writes in its headers.
 */
describe("per-IP limits key on the socket address (TRUSTED_PROXY_HOPS=0)", () => {
  let server: http.Server;
  let port: number;
  const seen: Headers[] = [];

  beforeAll(async () => {
    installPeerStamp();
    server = http.createServer((req, res) => {
      seen.push(new Headers(Object.entries(req.headers).map(([k, v]) => [k, String(v)] as [string, string])));
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const send = (from: string, headers: Record<string, string>) =>
    new Promise<Headers>((resolve, reject) => {
      const r = http.request({ host: "127.0.0.1", port, localAddress: from, headers, agent: false }, (res) => {
        res.resume();
        res.on("end", () => resolve(seen.at(-1)!));
      });
      r.on("error", reject);
      r.end();
    });

  it("a random X-Forwarded-For per request does not change the key", async () => {
    const keys = new Set<string | undefined>();
    for (let i = 0; i < 10; i++) {
      const h = await send("127.0.0.7", { "x-forwarded-for": `198.51.100.${i}, 203.0.113.${i}` });
      keys.add(clientIpFromHeaders(h, 0));
    }
    expect([...keys]).toEqual(["127.0.0.7"]);
  });

  it("a client that forges the stamp header itself (or X-Forwarded-For: its victim) gets its own address", async () => {
    const forged = await send("127.0.0.8", { [PEER_HEADER]: "0123456789abcdef0123456789abcdef 127.0.0.9", "x-forwarded-for": "127.0.0.9" });
    expect(clientIpFromHeaders(forged, 0)).toBe("127.0.0.8");
    const victim = await send("127.0.0.9", {});
    expect(clientIpFromHeaders(victim, 0)).toBe("127.0.0.9");
  });

  it("a header the hook did not write (a request that came in before it was installed) is no address at all", () => {
    expect(peerAddressFromHeaders(new Headers({ [PEER_HEADER]: "not-the-token 127.0.0.1" }))).toBeUndefined();
    expect(peerAddressFromHeaders(new Headers({ [PEER_HEADER]: "127.0.0.1" }))).toBeUndefined();
    expect(clientIpFromHeaders(new Headers({ "x-forwarded-for": "127.0.0.1" }), 0)).toBeUndefined();
  });

  it("behind trusted proxies the key is the address the nearest trusted proxy appended", async () => {
    const h = await send("127.0.0.10", { "x-forwarded-for": "6.6.6.6, 198.51.100.9" });
    expect(clientIpFromHeaders(h, 1)).toBe("198.51.100.9");
  });
});
