/**
 * The dashboard's header: the site's brand and a way back to the rooms. No session badge:
 * this page is for operators and shows nothing per visitor.
 */
export function DashboardHeader() {
  return (
    <header className="site-header">
      <div className="container site-header-inner">
        <a className="brand" href="/">
          <svg className="brand-mark" viewBox="0 0 32 32" width="32" height="32" aria-hidden="true">
            <rect width="32" height="32" rx="9" fill="var(--accent)" />
            <path d="M9 11.5A2.5 2.5 0 0 1 11.5 9h9a2.5 2.5 0 0 1 2.5 2.5v6a2.5 2.5 0 0 1-2.5 2.5H15l-4 3.5V20h.5" fill="none" stroke="#fff" strokeWidth="2" strokeLinejoin="round" />
          </svg>
          <span className="brand-name">Lobby</span>
        </a>
        <nav className="site-header-end dash-nav" aria-label="Site">
          <a href="/">Rooms</a>
          <a href="/dashboard" aria-current="page">
            Dashboard
          </a>
        </nav>
      </div>
    </header>
  );
}
