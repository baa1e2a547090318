import type { ReactNode } from "react";
import { HomeContent } from "../_components/home-content";

/*
 * The home page as the proxy serves `/`: each request for `/` goes to a numbered slot,
 * /home/<slot> (lib/page-cache/render-gate.ts), so it never joins a render that began before
 * it arrived. The page lives in this layout, above the slot: a layout keeps its place when
 * the slot changes, so the forms keep their state across a server action's refresh (which
 * comes back from another slot) and the page is one tree whatever the slot. Every slot is one
 * entry of the page cache. A static route (segment config in ./[slot]/page.tsx).
 */
export const revalidate = 300;

export default function HomeLayout({ children }: { children: ReactNode }) {
  return (
    <>
      <HomeContent />
      {children}
    </>
  );
}
