// Signing up, in and out, and confirming a stored token when the page loads.
import { api } from './api.js';
import { current, signedIn, signedOut, token } from './session.js';

/** Creates an account and signs it in. Rejects with ApiError (422 names the field, 409 taken). */
export async function signUp(username, email, password) {
  const { user, token: issued } = await api('POST', '/api/auth/register', { username, email, password });
  signedIn(user, issued);
}

/** Signs in by username or email. Rejects with ApiError (401 for a wrong pair, 429). */
export async function signIn(login, password) {
  const { user, token: issued } = await api('POST', '/api/auth/login', { login, password });
  signedIn(user, issued);
}

/** Revokes the token on the server and forgets it here, whether or not the server answered. */
export async function signOut() {
  try {
    if (token()) await api('POST', '/api/auth/logout');
  } finally {
    signedOut();
  }
}

/** Asks who a stored token belongs to. A revoked token (401) ends the session (see api.js);
 * any other failure keeps the token for the next load and rejects with ApiError. */
export async function restore() {
  if (current().status !== 'checking') return;
  signedIn(await api('GET', '/api/me'));
}
