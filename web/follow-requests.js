// How many people ask to follow the signed-in person, for the header: read from
// GET /api/me/follow-requests when the session starts, again on each live
// `follow_request` notification, and when the /requests screen answers one.
import { api } from './api.js';
import { subscribe } from './live.js';
import { sharedState } from './shared-state.js';

const PAGE = 100; // the most one page gives; beyond it the header says "100+"
const waiting = sharedState({ count: 0, more: false });
let unsubscribe = null;

/** Reads the count anew; a failure keeps the old one (the header is a hint, not a list). */
export async function refreshRequests() {
  try {
    const page = await api('GET', `/api/me/follow-requests?limit=${PAGE}`);
    if (unsubscribe) waiting.set({ count: page.users.length, more: Boolean(page.next_cursor) });
  } catch {
    // kept: the next notification or visit to /requests reads it again
  }
}

/** Starts following the count (once; later calls do nothing). */
export function startRequests() {
  if (unsubscribe) return;
  unsubscribe = subscribe((event) => {
    if (event.t === 'resync' || (event.t === 'notification' && event.kind === 'follow_request')) refreshRequests();
  });
  refreshRequests();
}

/** Stops and forgets the count (on sign-out). */
export function stopRequests() {
  if (unsubscribe) unsubscribe();
  unsubscribe = null;
  waiting.set({ count: 0, more: false });
}

/** `{count, more}`, re-rendering the component when it changes. */
export function useRequests() {
  return waiting.use();
}
