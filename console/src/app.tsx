import { useEffect, useRef } from "preact/hooks";
import { useConsole } from "./context";
import { PAGES } from "./routes";
import { href, useLocation } from "./router";

export function App() {
  const where = useLocation();
  const { session } = useConsole();
  const main = useRef<HTMLElement>(null);
  const found = PAGES.map((page) => ({ page, match: where.path.match(page.pattern) })).find((p) => p.match);
  useEffect(() => {
    document.title = `${found?.page.title ?? "Not found"} · Device Registry`;
  }, [found?.page.title]);
  // A new page moves the focus to its content (screen readers announce it); the first page leaves
  // it where a page load does, so that Tab reaches "Skip to content" first.
  const opened = useRef(false);
  useEffect(() => {
    if (opened.current) main.current?.focus({ preventScroll: true });
    opened.current = true;
  }, [where.path]);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); main.current?.focus(); }}>
        Skip to content
      </a>
      <header>
        <nav aria-label="Console">
          <span class="brand">Device Registry</span>
          {PAGES.filter((page) => page.nav).map((page) => (
            <a key={page.title} href={href(page.nav ?? "/")} aria-current={found?.page === page ? "page" : undefined}>
              {page.title}
            </a>
          ))}
          <span class="spacer" />
          {!session.canWrite && <span class="muted">read-only</span>}
          {session.user && <span class="muted">{session.user}</span>}
          {session.signOut && (
            <button type="button" onClick={session.signOut}>
              Sign out
            </button>
          )}
        </nav>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {found?.match ? found.page.render(found.match, where) : <h1>No such page</h1>}
      </main>
    </>
  );
}
