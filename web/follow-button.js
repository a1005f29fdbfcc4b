// The Follow / Requested / Following button for one person: it changes at once and goes
// back, with the server's message, when the server refuses. Following a private account
// asks for approval ("Requested"); pressing "Requested" or "Following" undoes it.
import { api } from './api.js';
import { html, useEffect, useState } from './html.js';

/** 'following', 'requested' or 'none': how the viewer stands to `user`. */
export function followState(user) {
  if (user.followed_by_viewer) return 'following';
  return user.requested_by_viewer ? 'requested' : 'none';
}

const LABELS = { following: 'Following', requested: 'Requested', none: 'Follow' };

/** The button for `user` ({username, is_private, followed_by_viewer, requested_by_viewer}).
 * Calls `onChange(state)` when the shown state changes: at the click, with the server's
 * answer, and with the old state when the server refuses. */
export function FollowButton({ user, onChange }) {
  const [state, setState] = useState(followState(user));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => setState(followState(user)), [user.username, user.followed_by_viewer, user.requested_by_viewer]);

  const show = (next) => {
    setState(next);
    if (onChange) onChange(next);
  };
  const onClick = async () => {
    if (busy) return;
    const before = state;
    const asking = before === 'none';
    show(asking ? (user.is_private ? 'requested' : 'following') : 'none');
    setBusy(true);
    setError(null);
    try {
      const answer = await api(asking ? 'POST' : 'DELETE', `/api/users/${encodeURIComponent(user.username)}/follow`);
      show(answer.following ? 'following' : answer.requested ? 'requested' : 'none');
    } catch (failure) {
      show(before);
      const what = asking ? 'follow' : before === 'requested' ? 'withdraw the request to follow' : 'unfollow';
      setError(`Could not ${what} @${user.username}: ${failure.message}`);
    }
    setBusy(false);
  };

  const label = LABELS[state];
  const hint = state === 'requested' ? ' (waiting for approval; press to withdraw)' : '';
  return html`
    <span class="follow">
      <button type="button" class=${state} aria-pressed=${state === 'none' ? 'false' : 'true'}
        aria-label=${`${label} @${user.username}${hint}`} aria-busy=${busy ? 'true' : 'false'}
        onClick=${onClick}>${label}</button>
      ${error && html`<span class="error" role="alert">${error}</span>`}
    </span>`;
}
