import type { Metadata } from "next";

export const metadata: Metadata = { title: "Not found" };

export default function NotFound() {
  return (
    <main className="container message-page">
      <p className="message-code">404</p>
      <h1>This page isn’t here</h1>
      <p>The room may have been closed, or the link is mistyped.</p>
      <a className="button button-primary" href="/">
        Back to all rooms
      </a>
    </main>
  );
}
