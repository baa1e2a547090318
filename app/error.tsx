"use client";

import { SessionProvider } from "./_components/session-context";
import { SiteHeader } from "./_components/site-header";

/**
 * The page could not be rendered: Postgres unreachable with nothing cached, for one.
 * Server errors arrive with only a digest (the message stays in the server log); the
 * digest is shown so a report can be matched to the log line.
 */
export default function ErrorPage({ error, retry }: { error: unknown; retry: () => void }) {
  const digest = error instanceof Error ? (error as Error & { digest?: string }).digest : undefined;
  return (
    <SessionProvider>
      <SiteHeader />
      <main className="container message-page">
        <p className="message-code">Something went wrong</p>
        <h1>We couldn’t load the rooms</h1>
        <p>This is on our side and usually passes quickly. Try again in a moment.</p>
        <div className="message-actions">
          <button type="button" className="button button-primary" onClick={() => retry()}>
            Try again
          </button>
          <a className="button button-secondary" href="/">
            Reload the page
          </a>
        </div>
        {digest && <p className="message-digest">Reference: {digest}</p>}
      </main>
    </SessionProvider>
  );
}
