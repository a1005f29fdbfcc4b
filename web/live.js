// The live connection: one websocket per tab while signed in. It resumes with `since`
// after a drop, tells listeners about every server event, and says when it is offline.
import { useEffect } from './html.js';
import { navigate } from './router.js';
import { signedOut, token } from './session.js';
import { sharedState } from './shared-state.js';

const RETRY_MS = [500, 1000, 2000, 5000, 10000];
const eventListeners = new Set();
let socket = null;
let lastId = null; // the newest event id seen: where a reconnect resumes
const connection = sharedState('off'); // 'off' (signed out) | 'connecting' | 'online' | 'offline'
let failures = 0;
let retryTimer = null;

function setState(next) {
  if (connection.get() !== next) connection.set(next);
}

function emit(event) {
  for (const listener of eventListeners) {
    try {
      listener(event);
    } catch (error) {
      console.error('live event listener failed', error);
    }
  }
}

function scheduleRetry() {
  setState('offline');
  const wait = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)];
  failures += 1;
  retryTimer = setTimeout(connect, wait);
}

function connect() {
  retryTimer = null;
  const sent = token();
  if (!sent) return;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const ws = new WebSocket(url, 'pixtrio.v1.json');
  socket = ws;
  if (connection.get() !== 'offline') setState('connecting');
  ws.onopen = () => {
    const auth = { t: 'auth', token: sent };
    if (lastId) auth.since = lastId;
    ws.send(JSON.stringify(auth));
  };
  ws.onmessage = (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (event.t === 'hello') {
      failures = 0;
      setState('online');
      // Missed events were not all kept: whoever shows server state fetches it again.
      if (lastId && event.recovered === false) emit({ t: 'resync' });
      return;
    }
    if (event.id) lastId = event.id;
    emit(event);
  };
  ws.onclose = (closed) => {
    if (socket !== ws) return; // replaced or stopped on purpose
    socket = null;
    if (closed.code === 4001) { // the token was revoked: the session is over, as in api.js
      signedOut();
      navigate('/login');
      return;
    }
    scheduleRetry();
  };
}

// The browser says the network is back: try now instead of waiting out the backoff.
addEventListener('online', () => {
  if (!retryTimer) return;
  clearTimeout(retryTimer);
  connect();
});

/** Opens the tab's connection for the stored token (once; later calls do nothing). */
export function startLive() {
  if (socket || retryTimer || !token()) return;
  connect();
}

/** Closes the connection and forgets the resume position (on sign-out). */
export function stopLive() {
  clearTimeout(retryTimer);
  retryTimer = null;
  const ws = socket;
  socket = null;
  lastId = null;
  failures = 0;
  if (ws) ws.close(1000);
  setState('off');
}

/** Calls `listener(event)` for every server event, and with `{t: 'resync'}` when events
 * were lost in a drop (refetch then). Returns the function that stops it. */
export function subscribe(listener) {
  eventListeners.add(listener);
  return () => eventListeners.delete(listener);
}

/** While the component is mounted, calls `handler(event)` for each server event. */
export function useLive(handler, deps = []) {
  useEffect(() => subscribe(handler), deps);
}

/** The connection's state ('off', 'connecting', 'online', 'offline'), re-rendering on change. */
export function useConnection() {
  return connection.use();
}
