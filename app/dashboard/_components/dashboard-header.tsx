import { Brand } from "@/app/_components/brand";

/**
 * The dashboard's header: the site's brand and a way back to the rooms. No session badge:
 * this page is for operators and shows nothing per visitor.
 */
export function DashboardHeader() {
  return (
    <header className="site-header">
      <div className="container site-header-inner">
        <Brand />
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
