// The app: the header with who is signed in, and the screen for the current route.
import { restore, signOut } from './account.js';
import { html, render, useEffect, useState } from './html.js';
import { navigate, route, usePath } from './router.js';
import { LoginScreen, SignupScreen } from './screens/auth.js';
import { useSession } from './session.js';

const SCREENS = { login: LoginScreen, signup: SignupScreen };

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

function AlreadySignedIn({ current }) {
  const { user } = useSession();
  return html`
    <h1>${current.title}</h1>
    <p>You are signed in as <strong>${user.username}</strong>. <a href="/">Go to the home page</a></p>`;
}

function Account({ session }) {
  const [busy, setBusy] = useState(false);
  if (session.status === 'checking') return null;
  if (session.status === 'signed-out') {
    return html`<a href="/login">Sign in</a><a href="/signup">Sign up</a>`;
  }
  const { user } = session;
  const onSignOut = async () => {
    setBusy(true);
    try {
      await signOut();
    } catch {
      // Signed out here all the same; a server that was not reached keeps the token live.
    }
    setBusy(false);
    navigate('/login');
  };
  return html`
    <a class="who" href=${`/${user.username}`}>${user.display_name || user.username}</a>
    <button type="button" onClick=${onSignOut} disabled=${busy}>Sign out</button>`;
}

function App() {
  const current = route(usePath());
  const session = useSession();
  const [problem, setProblem] = useState(null);
  const check = () => {
    setProblem(null);
    restore().catch((failure) => { if (failure.status !== 401) setProblem(failure.message); });
  };
  useEffect(check, []);
  useEffect(() => { document.title = `${current.title} · Pixtrio`; }, [current.title]);
  const Screen = session.status === 'signed-in' && current.name in SCREENS
    ? AlreadySignedIn : SCREENS[current.name] || Placeholder;
  return html`
    <header class="bar">
      <a class="brand" href="/">Pixtrio</a>
      <nav aria-label="Account"><${Account} session=${session} /></nav>
    </header>
    <main id="main">
      ${problem && html`
        <div class="problem" role="alert">
          <p>Could not check your session: ${problem}</p>
          <button type="button" onClick=${check}>Try again</button>
        </div>`}
      <${Screen} current=${current} />
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
