// Calls to the JSON API: same origin, with the session's Bearer token. An error answer
// becomes an ApiError carrying the server's message; a 401 to a call that sent a token
// means the token is no longer good, so the session ends and the page goes to /login.
import { navigate } from './router.js';
import { signedOut, token } from './session.js';

/** A failed call: `status` (0 when the server was not reached), `code` and `message`. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** The one of `fields` this error names (a 422 message starts with it; a 409 code is `<field>_taken`). */
  field(fields) {
    return fields.find((name) => this.message.startsWith(`${name}:`) || this.code === `${name}_taken`);
  }
}

async function errorOf(response) {
  try {
    const { error } = await response.json();
    if (error && error.message) return new ApiError(response.status, error.code, error.message);
  } catch {
    // not our JSON error shape: fall through to the status line
  }
  return new ApiError(response.status, 'http_error', `the server answered ${response.status} ${response.statusText}`);
}

/** Sends `body` to `path`: a Blob or File as its raw bytes with its own type, anything
 * else as JSON (when given). Resolves to the parsed answer (null for 204); rejects with ApiError. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const sent = token();
  if (sent) headers.Authorization = `Bearer ${sent}`;
  const raw = body instanceof Blob;
  if (body !== undefined) headers['Content-Type'] = raw ? body.type || 'application/octet-stream' : 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined || raw ? body : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'unreachable', 'the server cannot be reached; check the connection and try again');
  }
  if (response.status === 401 && sent && sent === token()) {
    signedOut();
    navigate('/login');
  }
  if (!response.ok) throw await errorOf(response);
  return response.status === 204 ? null : response.json();
}
