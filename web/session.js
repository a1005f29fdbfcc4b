// Who is signed in: the token, kept in localStorage so a reload keeps the session, and
// the current user. No network here; account.js talks to the server.
import { sharedState } from './shared-state.js';

const TOKEN_KEY = 'pixtrio.token';
const session = sharedState(localStorage.getItem(TOKEN_KEY)
  ? { status: 'checking', user: null } // a stored token, not yet confirmed by the server
  : { status: 'signed-out', user: null });

/** The stored token, or null when signed out. */
export function token() {
  return localStorage.getItem(TOKEN_KEY);
}

/** The current `{status, user}`; status is 'checking', 'signed-in' or 'signed-out'. */
export function current() {
  return session.get();
}

/** Keeps `token` (when given) and shows `user` as signed in. */
export function signedIn(user, newToken = null) {
  if (newToken !== null) localStorage.setItem(TOKEN_KEY, newToken);
  session.set({ status: 'signed-in', user });
}

/** Forgets the token and the user. */
export function signedOut() {
  localStorage.removeItem(TOKEN_KEY);
  session.set({ status: 'signed-out', user: null });
}

/** The current `{status, user}`, re-rendering the component when it changes. */
export function useSession() {
  return session.use();
}
