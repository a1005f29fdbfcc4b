// The app: a router over the deep-linkable paths and one placeholder view per route.
// The screens arrive in later work; each route already has its place here.
import { html, render, useEffect, useState } from './html.js';

const ROUTES = [
  [/^\/$/, () => ({ name: 'home', title: 'Home' })],
  [/^\/login$/, () => ({ name: 'login', title: 'Sign in' })],
  [/^\/signup$/, () => ({ name: 'signup', title: 'Sign up' })],
  [/^\/new$/, () => ({ name: 'new', title: 'New post' })],
  [/^\/settings$/, () => ({ name: 'settings', title: 'Settings' })],
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

function usePath() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    // Same-origin links navigate in place; the server answers the same shell on reload.
    const onClick = (event) => {
      const link = event.target.closest('a[href]');
      if (!link || link.origin !== location.origin || event.defaultPrevented || event.button !== 0
          || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey
          || link.pathname.startsWith('/docs') || link.target) return;
      event.preventDefault();
      history.pushState(null, '', link.pathname + link.search);
      setPath(location.pathname);
    };
    addEventListener('popstate', onPop);
    document.addEventListener('click', onClick);
    return () => {
      removeEventListener('popstate', onPop);
      document.removeEventListener('click', onClick);
    };
  }, []);
  return path;
}

function Placeholder({ current }) {
  return html`
    <h1>${current.title}</h1>
    <p class="route" data-route=${current.name}>
      Route: <code>${current.name}</code>
      ${current.username && html` for <strong>${current.username}</strong>`}
      ${current.postId && html` <code>${current.postId}</code>`}
    </p>
    <p>This is the app's frame; its screens arrive one at a time. Meanwhile the server's
      JSON API is described at <a href="/docs">/docs</a>.</p>`;
}

function App() {
  const current = route(usePath());
  useEffect(() => { document.title = `${current.title} · Pixtrio`; }, [current.title]);
  return html`
    <header class="bar">
      <a class="brand" href="/">Pixtrio</a>
      <nav aria-label="Main">
        <a href="/login">Sign in</a>
        <a href="/signup">Sign up</a>
      </nav>
    </header>
    <main id="main"><${Placeholder} current=${current} /></main>`;
}

render(html`<${App} />`, document.getElementById('app'));
