import type { Metadata } from "next";
import { connection } from "next/server";
import { SearchForm } from "@/app/_components/search-form";
import { SearchResults } from "@/app/_components/search-results";
import { SessionProvider } from "@/app/_components/session-context";
import { SiteHeader } from "@/app/_components/site-header";
import { AppError } from "@/lib/errors";
import { clientIp } from "@/lib/http/client-ip";
import { runtime } from "@/lib/runtime";
import type { SearchPage as Page } from "@/lib/search/search-service";
import { SEARCH_LIMIT_DEFAULT, searchParamsSchema, singleValues, type SearchParams } from "@/lib/search/validation";
import { readSession } from "@/lib/session/cookie";
import { fieldErrors } from "@/lib/validation";

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

type Outcome =
  | { kind: "empty" }
  | { kind: "invalid"; message: string }
  | { kind: "results"; params: SearchParams; page: Page }
  | { kind: "refused"; message: string }
  | { kind: "unavailable" };

async function run(props: Props): Promise<{ typed: string; outcome: Outcome }> {
  const raw = singleValues(await props.searchParams);
  // Echoed into the box, capped: a huge query is refused, not mirrored back.
  const typed = typeof raw.q === "string" ? raw.q.slice(0, 1_000) : "";
  if (raw.q === undefined || (typeof raw.q === "string" && raw.q.trim() === "")) return { typed, outcome: { kind: "empty" } };
  const parsed = searchParamsSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = fieldErrors(parsed.error);
    return { typed, outcome: { kind: "invalid", message: fields.q ?? Object.values(fields)[0] ?? "That search is not valid" } };
  }
  try {
    // The page renders per request anyway: who asks, for the search rate limit.
    const client = { sessionId: (await readSession())?.id, ip: await clientIp() };
    const { data } = await runtime().search.search(parsed.data, { client });
    return { typed, outcome: { kind: "results", params: parsed.data, page: data } };
  } catch (error) {
    // Too many searches, or one too slow: its own message. Postgres down and nothing cached
    // for this query: say so rather than show an error page.
    if (error instanceof AppError && (error.status === 429 || error.code === "search_timeout")) {
      return { typed, outcome: { kind: "refused", message: error.message } };
    }
    return { typed, outcome: { kind: "unavailable" } };
  }
}

export async function generateMetadata(props: Props): Promise<Metadata> {
  const q = (await props.searchParams).q;
  return { title: typeof q === "string" && q.trim() ? `Search: ${q.trim().slice(0, 60)}` : "Search" };
}

function nextHref(params: SearchParams, cursor: string): string {
  const query = new URLSearchParams({ q: params.q, cursor });
  if (params.limit !== SEARCH_LIMIT_DEFAULT) query.set("limit", String(params.limit));
  return `/search?${query}`;
}

/**
 * Search results, rendered on the server per request from the URL (`?q=&limit=&cursor=`),
 * so the GET form works with JavaScript off. Snippets are text with <mark>ed matches.
 */
export default async function SearchPage(props: Props) {
  await connection();
  const [{ typed, outcome }, count] = await Promise.all([run(props), runtime().rooms.getRoomCount().catch(() => null)]);
  return (
    <SessionProvider>
      <a className="skip-link" href="#search-q">
        Skip to search
      </a>
      <SiteHeader count={count?.data ?? 0} stale={count?.source === "stale"} />
      <main className="container search-layout">
        <a className="chat-back" href="/">
          ← All rooms
        </a>
        <h1 className="search-heading">Search</h1>
        <div className="card search-card">
          <SearchForm defaultValue={typed} />
        </div>
        <section aria-labelledby="search-results-heading" className="search-section">
          <h2 id="search-results-heading" className="visually-hidden">
            Results
          </h2>
          <Body outcome={outcome} />
        </section>
      </main>
    </SessionProvider>
  );
}

function Body({ outcome }: { outcome: Outcome }) {
  switch (outcome.kind) {
    case "empty":
      return <p className="search-note">Type a word or two to search room names, descriptions and messages.</p>;
    case "invalid":
      return (
        <p className="form-alert" role="alert">
          {outcome.message}.
        </p>
      );
    case "refused":
      return (
        <p className="form-alert" role="alert">
          {outcome.message}
        </p>
      );
    case "unavailable":
      return (
        <p className="form-alert" role="alert">
          Search is unavailable right now. Please try again in a moment.
        </p>
      );
    case "results": {
      const { page, params } = outcome;
      if (page.hits.length === 0) {
        return (
          <p className="search-note" role="status">
            {params.cursor > 0 ? "No more results for " : "Nothing found for "}“{params.q}”.
          </p>
        );
      }
      return (
        <>
          <p className="search-note" role="status">
            {params.cursor > 0 ? `Results ${params.cursor + 1}–${params.cursor + page.hits.length}` : `${page.hits.length}${page.nextCursor ? "+" : ""} result${page.hits.length === 1 ? "" : "s"}`}{" "}
            for “{params.q}”
          </p>
          <SearchResults hits={page.hits} start={params.cursor} />
          {page.nextCursor && (
            <a className="button button-secondary search-next" href={nextHref(params, page.nextCursor)} rel="next">
              Next page →
            </a>
          )}
        </>
      );
    }
  }
}
