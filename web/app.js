// The app: the header with who is signed in, and the screen for the current route.
import { restore, signOut } from './account.js';
import { html, render, useEffect, useState } from './html.js';
import { startLive, stopLive } from './live.js';
import { navigate, route, usePath } from './router.js';
import { LoginScreen, SignupScreen } from './screens/auth.js';
import { HomeScreen } from './screens/feed.js';
import { NewPostScreen } from './screens/new-post.js';
import { PostScreen } from './screens/post.js';
import { FollowListScreen, ProfileScreen } from './screens/profile.js';
import { SettingsScreen } from './screens/settings.js';
import { TagScreen } from './screens/tag.js';
import { useSession } from './session.js';

// Screens for signed-out visitors only; a signed-in one is told who they are.
const GUEST_SCREENS = { login: LoginScreen, signup: SignupScreen };
// Screens that only make sense signed in: a signed-out visitor is sent to /login.
const MEMBER_SCREENS = new Set(['home', 'new', 'settings']);
const SCREENS = {
  ...GUEST_SCREENS,
  home: HomeScreen,
  new: NewPostScreen,
  post: PostScreen,
  profile: ProfileScreen,
  followers: FollowListScreen,
  following: FollowListScreen,
  settings: SettingsScreen,
  tag: TagScreen,
};

function Nothing() {
  return null;
}

function NotFound() {
  return html`
    <h1>Not found</h1>
    <p>There is no page at this address. <a href="/">Go to the home page</a></p>`;
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
  useEffect(() => {
    if (session.status === 'signed-in') startLive();
    else if (session.status === 'signed-out') stopLive();
  }, [session.status]);
  const sendToLogin = session.status === 'signed-out' && MEMBER_SCREENS.has(current.name);
  useEffect(() => { if (sendToLogin) navigate('/login', { replace: true }); }, [sendToLogin]);
  useEffect(() => { document.title = `${current.title} · Pixtrio`; }, [current.title]);
  let Screen = SCREENS[current.name] || NotFound;
  if (session.status === 'signed-in' && current.name in GUEST_SCREENS) Screen = AlreadySignedIn;
  if (session.status !== 'signed-in' && MEMBER_SCREENS.has(current.name)) Screen = Nothing;
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
