/**
 * Shown when Postgres is down and the list is the cache's last-known-good copy. Its
 * `data-cache-state="stale"` (STALE_PAGE_MARKER) tells the page cache not to keep the page.
 */
export function StaleBanner() {
  return (
    <div className="stale-banner" role="status" data-cache-state="stale">
      <div className="container stale-banner-inner">
        <svg viewBox="0 0 20 20" width="18" height="18" aria-hidden="true">
          <path d="M10 2.5l8 14H2z" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinejoin="round" />
          <path d="M10 8v4M10 14.5v.01" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
        </svg>
        <p>Showing saved data: the database is unreachable. New rooms can’t be created right now.</p>
      </div>
    </div>
  );
}
