// The client routes: which screen a path names, and moving between paths without a reload.
import { useEffect, useState } from './html.js';

const NAVIGATE = 'pixtrio:navigate';

function decoded(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a stray '%': show it as it was typed
  }
}

const ROUTES = [
  [/^\/$/, () => ({ name: 'home', title: 'Home' })],
  [/^\/login$/, () => ({ name: 'login', title: 'Sign in' })],
  [/^\/signup$/, () => ({ name: 'signup', title: 'Sign up' })],
  [/^\/new$/, () => ({ name: 'new', title: 'New post' })],
  [/^\/settings$/, () => ({ name: 'settings', title: 'Settings' })],
  [/^\/requests$/, () => ({ name: 'requests', title: 'Follow requests' })],
  [/^\/mod$/, () => ({ name: 'mod', title: 'Moderation' })],
  [/^\/explore\/tags\/([^/]+)$/, (m) => ({ name: 'tag', title: 'Hashtag', tag: decoded(m[1]) })],
  [/^\/p\/([0-9]+)$/, (m) => ({ name: 'post', title: 'Post', postId: m[1] })],
  [/^\/([A-Za-z0-9._]+)\/(followers|following)$/,
    (m) => ({ name: m[2], title: m[2] === 'followers' ? 'Followers' : 'Following',
      username: m[1].toLowerCase() })],
  [/^\/([A-Za-z0-9._]+)$/, (m) => ({ name: 'profile', title: 'Profile', username: m[1].toLowerCase() })],
];

/** The route a path names, or a "not found" route. */
export function route(path) {
  for (const [pattern, make] of ROUTES) {
    const m = pattern.exec(path);
    if (m) return make(m);
  }
  return { name: 'not-found', title: 'Not found' };
}

/** Shows `path` in place: a new history entry, or with `replace` the current one changed. */
export function navigate(path, { replace = false } = {}) {
  if (path === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  dispatchEvent(new Event(NAVIGATE));
}

/** The current path, following history moves and same-origin link clicks. */
export function usePath() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const onMove = () => setPath(location.pathname);
    // Same-origin links navigate in place; the server answers the same shell on reload.
    const onClick = (event) => {
      const link = event.target.closest('a[href]');
      if (!link || link.origin !== location.origin || event.defaultPrevented || event.button !== 0
          || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey
          || link.pathname.startsWith('/docs') || link.target) return;
      event.preventDefault();
      navigate(link.pathname + link.search);
    };
    addEventListener('popstate', onMove);
    addEventListener(NAVIGATE, onMove);
    document.addEventListener('click', onClick);
    // A move made before this effect ran (the early feed request's 401 sends to /login
    // as the page loads) fired no event this hook heard: take the address as it is now.
    onMove();
    return () => {
      removeEventListener('popstate', onMove);
      removeEventListener(NAVIGATE, onMove);
      document.removeEventListener('click', onClick);
    };
  }, []);
  return path;
}
