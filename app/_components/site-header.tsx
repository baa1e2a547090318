import { Brand } from "./brand";
import { formatCount } from "./format";
import { SessionBadge } from "./session-badge";

/**
 * The one header of every page: the brand (home), the room count when the page read the
 * list, the dashboard link and who the visitor is. `current` marks the page the visitor is
 * on among the header's links.
 */
export function SiteHeader({ count, stale = false, current }: { count?: number; stale?: boolean; current?: "dashboard" }) {
  return (
    <header className="site-header">
      <div className="container site-header-inner">
        <Brand />
        {count !== undefined && (
          <p className={stale ? "count-pill count-pill-stale" : "count-pill"}>
            {/* Green: the count is live; amber: it is the saved copy (see the stale banner). */}
            <span className="count-dot" aria-hidden="true" />
            {formatCount(count, "room")}
          </p>
        )}
        <div className="site-header-end">
          <a className="site-nav-link" href="/dashboard" aria-current={current === "dashboard" ? "page" : undefined}>
            <svg viewBox="0 0 20 20" width="18" height="18" aria-hidden="true">
              <path d="M3 16.5h14M5.5 13V9.5M10 13V5.5M14.5 13v-5" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
            </svg>
            <span className="site-nav-text">Dashboard</span>
          </a>
          <SessionBadge />
        </div>
      </div>
    </header>
  );
}
