import { describe, expect, it } from "vitest";
import { parseEnv } from "../env";
import { clientIpFromHeaders } from "./forwarded-for";

const xff = (value?: string) => new Headers(value === undefined ? {} : { "x-forwarded-for": value });

describe("clientIpFromHeaders", () => {
  it("with no trusted proxy never reads X-Forwarded-For: only a client can have written it (the socket is lib/http/peer-address.ts's)", () => {
    expect(clientIpFromHeaders(xff("203.0.113.7"), 0)).toBeUndefined();
    expect(clientIpFromHeaders(xff("127.0.0.1"), 0)).toBeUndefined();
    expect(clientIpFromHeaders(xff(), 0)).toBeUndefined();
  });

  it("never keys on the client-written (leftmost) part of the chain", () => {
    // The client sent "1.1.1.1, 2.2.2.2"; one trusted proxy appended the address it saw.
    expect(clientIpFromHeaders(xff("1.1.1.1, 2.2.2.2, 198.51.100.9"), 1)).toBe("198.51.100.9");
    // Two proxies: the second appended the first's address; the client is one further left.
    expect(clientIpFromHeaders(xff("1.1.1.1, 198.51.100.9, 10.0.0.2"), 2)).toBe("198.51.100.9");
    // A spoofed first hop does not move the key, whatever the client writes.
    const a = clientIpFromHeaders(xff("9.9.9.9, 198.51.100.9"), 1);
    const b = clientIpFromHeaders(xff("8.8.8.8, 198.51.100.9"), 1);
    expect(a).toBe(b);
  });

  it("takes the leftmost entry when fewer than the trusted hops are present, strips ports, refuses non-addresses", () => {
    expect(clientIpFromHeaders(xff("198.51.100.9"), 3)).toBe("198.51.100.9");
    expect(clientIpFromHeaders(xff("198.51.100.9:5123"), 1)).toBe("198.51.100.9");
    expect(clientIpFromHeaders(xff("[2001:db8::1]:443"), 1)).toBe("2001:db8::1");
    expect(clientIpFromHeaders(xff("2001:db8::1"), 1)).toBe("2001:db8::1");
    expect(clientIpFromHeaders(xff("1.1.1.1, not-an-ip"), 1)).toBeUndefined();
    expect(clientIpFromHeaders(xff(" , "), 1)).toBeUndefined();
  });

  it("reads the hops from TRUSTED_PROXY_HOPS (default 0), validated", () => {
    expect(parseEnv({}).trustedProxyHops).toBe(0);
    expect(parseEnv({ TRUSTED_PROXY_HOPS: "2" }).trustedProxyHops).toBe(2);
    expect(() => parseEnv({ TRUSTED_PROXY_HOPS: "-1" })).toThrow(/TRUSTED_PROXY_HOPS/);
    expect(() => parseEnv({ TRUSTED_PROXY_HOPS: "one" })).toThrow(/TRUSTED_PROXY_HOPS/);
  });
});
