import { Fragment } from "react";
import type { SearchHit } from "@/lib/search/search-service";
import type { Segment } from "@/lib/search/snippet";
import { formatFull, formatTime } from "./format";

/** Snippet segments as text, matches in <mark>: React escapes every piece, so no markup in a message can run. */
export function Highlighted({ segments }: { segments: Segment[] }) {
  return (
    <>
      {segments.map((s, i) => (s.hit ? <mark key={i}>{s.text}</mark> : <Fragment key={i}>{s.text}</Fragment>))}
    </>
  );
}

function Hit({ hit }: { hit: SearchHit }) {
  const href = `/rooms/${hit.roomId}`;
  if (hit.kind === "room") {
    return (
      <li className="search-hit">
        <p className="search-kind">Room</p>
        <h3 className="search-title">
          <a href={href} dir="auto">
            <Highlighted segments={hit.title ?? [{ text: hit.roomName, hit: false }]} />
          </a>
        </h3>
        {hit.snippet.length > 0 && (
          <p className="search-snippet" dir="auto">
            <Highlighted segments={hit.snippet} />
          </p>
        )}
      </li>
    );
  }
  return (
    <li className="search-hit">
      <p className="search-kind">
        Message in{" "}
        <a href={href} className="search-room-link" dir="auto">
          {hit.roomName}
        </a>
      </p>
      <blockquote className="search-snippet search-message" dir="auto">
        <Highlighted segments={hit.snippet} />
      </blockquote>
      <p className="search-meta">
        <bdi>{hit.authorName}</bdi> ·{" "}
        <time dateTime={hit.createdAt.toISOString()} title={formatFull(hit.createdAt)}>
          {formatTime(hit.createdAt)}
        </time>
      </p>
    </li>
  );
}

/** A page of hits, best first; `start` numbers them across pages (for the ordered list). */
export function SearchResults({ hits, start }: { hits: SearchHit[]; start: number }) {
  return (
    <ol className="search-results" start={start + 1}>
      {hits.map((hit) => (
        <Hit key={hit.messageId ?? hit.roomId} hit={hit} />
      ))}
    </ol>
  );
}
