// The app: the header, and the screen for the current route.
import { restore } from './account.js';
import { focusMain, Header } from './header.js';
import { html, render, useEffect, useRef, useState } from './html.js';
import { startRequests, stopRequests } from './follow-requests.js';
import { startLive, stopLive } from './live.js';
import { startNotifications, stopNotifications } from './notifications.js';
import { navigate, route, usePath } from './router.js';
import { LoginScreen, SignupScreen } from './screens/auth.js';
import { HomeScreen } from './screens/feed.js';
import { useSession } from './session.js';

/** A screen whose module (`load()`, exporting `name`) is fetched the first time it is shown,
 * so the first load of `/` or `/login` carries only what those need. Until it arrives the
 * screen is empty; a failed fetch says so with a retry. */
function lazyScreen(load, name) {
  let screen = null;
  let loading = null;
  return function LazyScreen(props) {
    const [failure, setFailure] = useState(null);
    const [, setArrived] = useState(false);
    const fetchIt = () => {
      setFailure(null);
      loading = loading || load().then((module) => { screen = module[name]; });
      loading.then(() => setArrived(true), (error) => { loading = null; setFailure(error); });
    };
    useEffect(() => { if (!screen) fetchIt(); }, []);
    if (screen) return html`<${screen} ...${props} />`;
    return failure && html`
      <div class="problem" role="alert">
        <p>Could not load this page: ${failure.message}</p>
        <button type="button" onClick=${fetchIt}>Try again</button>
      </div>`;
  };
}

// Screens for signed-out visitors only; a signed-in one is told who they are.
const GUEST_SCREENS = { login: LoginScreen, signup: SignupScreen };
// Screens that only make sense signed in: a signed-out visitor is sent to /login.
const MEMBER_SCREENS = new Set(['home', 'new', 'settings', 'requests', 'mod']);
const SCREENS = {
  ...GUEST_SCREENS,
  home: HomeScreen,
  new: lazyScreen(() => import('./screens/new-post.js'), 'NewPostScreen'),
  post: lazyScreen(() => import('./screens/post.js'), 'PostScreen'),
  profile: lazyScreen(() => import('./screens/profile.js'), 'ProfileScreen'),
  followers: lazyScreen(() => import('./screens/profile.js'), 'FollowListScreen'),
  following: lazyScreen(() => import('./screens/profile.js'), 'FollowListScreen'),
  settings: lazyScreen(() => import('./screens/settings.js'), 'SettingsScreen'),
  tag: lazyScreen(() => import('./screens/tag.js'), 'TagScreen'),
  requests: lazyScreen(() => import('./screens/requests.js'), 'RequestsScreen'),
  mod: lazyScreen(() => import('./screens/mod.js'), 'ModScreen'),
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

function App() {
  const path = usePath();
  const current = route(path);
  const session = useSession();
  const loaded = useRef(false);
  const [problem, setProblem] = useState(null);
  const check = () => {
    setProblem(null);
    restore().catch((failure) => { if (failure.status !== 401) setProblem(failure.message); });
  };
  useEffect(check, []);
  useEffect(() => {
    if (session.status === 'signed-in') {
      startNotifications();
      startRequests();
      startLive();
    } else if (session.status === 'signed-out') {
      stopLive();
      stopRequests();
      stopNotifications();
    }
  }, [session.status]);
  const sendToLogin = session.status === 'signed-out' && MEMBER_SCREENS.has(current.name);
  useEffect(() => { if (sendToLogin) navigate('/login', { replace: true }); }, [sendToLogin]);
  useEffect(() => { document.title = `${current.title} · Pixtrio`; }, [current.title]);
  // After a move the person made (not the first load, nor a redirect before they did
  // anything), focus goes to the new screen, as a full page load would put it.
  useEffect(() => {
    if (loaded.current && navigator.userActivation?.hasBeenActive !== false) focusMain();
    loaded.current = true;
  }, [path]);
  let Screen = SCREENS[current.name] || NotFound;
  if (session.status === 'signed-in' && current.name in GUEST_SCREENS) Screen = AlreadySignedIn;
  // The home feed starts while a stored token is being confirmed (its first page is asked
  // for beside that check); the other member screens wait for the user.
  const waits = session.status === 'signed-out' || (session.status === 'checking' && current.name !== 'home');
  if (MEMBER_SCREENS.has(current.name) && waits) Screen = Nothing;
  return html`
    <${Header} session=${session} path=${path} />
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
