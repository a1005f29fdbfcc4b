// Lists the API gives a page at a time (`{<items>, next_cursor}`): the pages fetched so
// far, and the "Load more" button that fetches the next, also pressed by scrolling near it.
import { api } from './api.js';
import { html, useEffect, useRef, useState } from './html.js';

/** The list at `path` (its items under `key`, identified by `idOf`), a page at a time.
 * Gives `{items, setItems, next, loading, error, more, reload}`: `more()` fetches the page
 * after the last (the first again after an error there), `reload()` the first anew. */
export function usePages(path, key, idOf) {
  const [items, setItems] = useState([]);
  const [next, setNext] = useState(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);
  const run = useRef({ path, busy: false });

  const load = async (cursor) => {
    const mine = run.current;
    if (mine.busy) return;
    mine.busy = true;
    setLoading(true);
    setError(null);
    try {
      const page = await api('GET', cursor ? `${path}?cursor=${encodeURIComponent(cursor)}` : path);
      if (mine !== run.current) return;
      const fresh = page[key];
      setItems((old) => {
        if (!cursor) return fresh;
        const seen = new Set(old.map(idOf));
        return [...old, ...fresh.filter((item) => !seen.has(idOf(item)))];
      });
      setNext(page.next_cursor);
    } catch (failure) {
      if (mine === run.current) setError(failure);
    } finally {
      mine.busy = false;
      if (mine === run.current) setLoading(false);
    }
  };
  const reload = () => {
    run.current = { path, busy: false }; // answers to earlier requests are now ignored
    load(null);
  };
  useEffect(() => {
    setItems([]);
    setNext(null);
    reload();
  }, [path]);
  return { items, setItems, next, loading, error, reload, more: () => load(error && !items.length ? null : next) };
}

/** "Load more" for `pages` (from `usePages`), also pressed by scrolling near it; the
 * failure, if any, with a retry. Nothing once the list is complete. */
export function More({ pages, what }) {
  const button = useRef(null);
  const { next, loading, error, items } = pages;
  const retry = error && !items.length;
  useEffect(() => {
    if (!next || loading || error || !button.current || !('IntersectionObserver' in window)) return undefined;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) pages.more();
    }, { rootMargin: '300px' });
    observer.observe(button.current);
    return () => observer.disconnect();
  }, [next, loading, error]);
  if (!next && !error) return null;
  return html`
    <div class="more">
      ${error && html`<p class="error" role="alert">Could not load ${what}: ${error.message}</p>`}
      <button type="button" ref=${button} aria-disabled=${loading ? 'true' : 'false'}
        onClick=${() => { if (!loading) pages.more(); }}>
        ${loading ? 'Loading…' : retry ? 'Try again' : 'Load more'}
      </button>
    </div>`;
}
