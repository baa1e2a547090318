/*
 * A slot of the home page (see ../layout.tsx, which renders it). The slot is never read.
 * Requests for /home/... from outside are answered 404 by the proxy.
 */
export const revalidate = 300;
export const dynamicParams = true;

/** None at build time: a slot is rendered (or found in the page cache) when asked for. */
export function generateStaticParams(): { slot: string }[] {
  return [];
}

export default function HomeSlot() {
  return null;
}
