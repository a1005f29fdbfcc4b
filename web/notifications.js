// The signed-in person's notifications (follows, follow requests and their acceptance,
// likes and comments), newest first, with an
// unread count. They come from the live connection only: the server keeps no list of past
// notifications (there is no REST API for them), so the list lives in memory for this tab,
// starts empty on each load and is forgotten on sign-out.
import { subscribe } from './live.js';
import { sharedState } from './shared-state.js';

const KINDS = new Set(['follow', 'follow_request', 'follow_accepted', 'like', 'comment']);
const KEPT = 50; // the newest ones; older ones drop off rather than grow the list forever
const notes = sharedState({ items: [], unread: 0 });
let unsubscribe = null;
let counter = 0;

function onEvent(event) {
  if (event.t !== 'notification' || !KINDS.has(event.kind) || !event.actor) return;
  const key = event.id || `local-${(counter += 1)}`;
  const state = notes.get();
  if (state.items.some((item) => item.key === key)) return; // replayed after a reconnect
  const item = { key, kind: event.kind, actor: event.actor, post_id: event.post_id,
    at: new Date().toISOString() }; // when it arrived: events carry no time of their own
  notes.set({ items: [item, ...state.items].slice(0, KEPT), unread: Math.min(state.unread + 1, KEPT) });
}

/** Starts collecting notifications from the live connection (once; later calls do nothing). */
export function startNotifications() {
  if (!unsubscribe) unsubscribe = subscribe(onEvent);
}

/** Stops collecting and forgets every notification (on sign-out). */
export function stopNotifications() {
  if (unsubscribe) unsubscribe();
  unsubscribe = null;
  notes.set({ items: [], unread: 0 });
}

/** Marks every notification read: the unread count goes to 0. */
export function markAllRead() {
  const state = notes.get();
  if (state.unread) notes.set({ ...state, unread: 0 });
}

/** `{items, unread}`: items are `{key, kind, actor, post_id?, at}` newest first, `at` the
 * time of arrival (RFC 3339); re-renders the component when they change. */
export function useNotifications() {
  return notes.use();
}
