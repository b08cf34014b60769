import type { ReactNode } from "react";
import { NavLink, Outlet } from "react-router";
import styles from "./Layout.module.css";

const NAV = [
  { to: "/", label: "Dashboard", icon: "▦", end: true },
  { to: "/tasks", label: "Tasks", icon: "☰", end: false },
  { to: "/executions", label: "Executions", icon: "▶", end: false },
  { to: "/executors", label: "Executors", icon: "⚙", end: false },
];

/** Sidebar navigation and the page area. */
export function Layout({ onSignOut }: { onSignOut?: () => void }) {
  return (
    <div className={styles.shell}>
      <aside className={styles.sidebar}>
        <div className={styles.brand}>
          <img src="/favicon.svg" alt="" width={26} height={26} />
          <span>Scheduler</span>
        </div>
        <nav className={styles.nav} aria-label="Main">
          {NAV.map((item) => (
            <NavLink
              key={item.to}
              to={item.to}
              end={item.end}
              className={({ isActive }) => `${styles.link} ${isActive ? styles.active : ""}`}
            >
              <span className={styles.icon} aria-hidden="true">
                {item.icon}
              </span>
              {item.label}
            </NavLink>
          ))}
        </nav>
        <div className={styles.footer}>
          {onSignOut && (
            <button type="button" className={styles.signOut} onClick={onSignOut}>
              Sign out
            </button>
          )}
          <a href="/api/v1/openapi.json" target="_blank" rel="noreferrer">
            API reference
          </a>
        </div>
      </aside>
      <main className={styles.main}>
        <Outlet />
      </main>
    </div>
  );
}

/** Title row of a page: heading, optional subtitle, actions on the right. */
export function PageHeader({
  title,
  subtitle,
  actions,
  back,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  actions?: ReactNode;
  back?: ReactNode;
}) {
  return (
    <header className={styles.pageHeader}>
      <div className={styles.titles}>
        {back && <div className={styles.back}>{back}</div>}
        <h1>{title}</h1>
        {subtitle && <div className="muted">{subtitle}</div>}
      </div>
      {actions && <div className="btn-row">{actions}</div>}
    </header>
  );
}
