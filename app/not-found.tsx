import type { Metadata } from "next";
import { SessionProvider } from "./_components/session-context";
import { SiteHeader } from "./_components/site-header";

export const metadata: Metadata = { title: "Not found" };

/** Prerendered (it reads no data), with the site's header like every other page. */
export default function NotFound() {
  return (
    <SessionProvider>
      <SiteHeader />
      <main className="container message-page">
        <p className="message-code">404</p>
        <h1>This page isn’t here</h1>
        <p>The room may have been closed, or the link is mistyped.</p>
        <a className="button button-primary" href="/">
          Back to all rooms
        </a>
      </main>
    </SessionProvider>
  );
}
