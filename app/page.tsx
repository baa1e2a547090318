import { HomeContent } from "./_components/home-content";

/*
 * `/`. The proxy (proxy.ts) serves every request for it from app/home (a numbered slot per
 * batch of requests, so none joins a render that began before it: lib/page-cache/render-gate.ts);
 * this route is what `/` would be without it. A static route: rendered once, kept in the
 * Redis page cache (lib/page-cache) that every instance shares, and rendered again only when
 * a write expires it (every room and message write) or after `revalidate` seconds.
 */
export const revalidate = 300;

export default function HomePage() {
  return <HomeContent />;
}
