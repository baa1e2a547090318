/** Where a service is configured to answer, read from its URL. */
export interface Endpoint {
  host: string;
  port: number;
}

/** The names a URL may give this machine; anything else is somebody else's service. */
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "::1"]);

/** Host and port of a `postgres://` or `redis://` URL (brackets of an IPv6 host removed). */
export function endpointOf(url: string, defaultPort: number): Endpoint {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[(.*)\]$/, "$1"), port: u.port ? Number(u.port) : defaultPort };
}

/** True when the endpoint is on this machine, so an embedded service could stand in for it. */
export function isLocal(endpoint: Endpoint): boolean {
  return LOCAL_HOSTS.has(endpoint.host.toLowerCase());
}

export function describeEndpoint({ host, port }: Endpoint): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
