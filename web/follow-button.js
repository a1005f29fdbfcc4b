// The Follow / Following toggle for one person: it changes at once and goes back, with
// the server's message, when the server refuses.
import { api } from './api.js';
import { html, useEffect, useState } from './html.js';

/** A toggle button following or unfollowing `user` ({username, followed_by_viewer}).
 * Calls `onChange(following)` when the shown state changes: at the click, and again
 * with the old state when the server refuses. */
export function FollowButton({ user, onChange }) {
  const [following, setFollowing] = useState(Boolean(user.followed_by_viewer));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => setFollowing(Boolean(user.followed_by_viewer)), [user.username, user.followed_by_viewer]);

  const onClick = async () => {
    if (busy) return;
    const next = !following;
    setFollowing(next);
    setBusy(true);
    setError(null);
    if (onChange) onChange(next);
    try {
      await api(next ? 'POST' : 'DELETE', `/api/users/${encodeURIComponent(user.username)}/follow`);
    } catch (failure) {
      setFollowing(!next);
      if (onChange) onChange(!next);
      setError(`Could not ${next ? 'follow' : 'unfollow'} @${user.username}: ${failure.message}`);
    }
    setBusy(false);
  };

  const label = following ? 'Following' : 'Follow';
  return html`
    <span class="follow">
      <button type="button" aria-pressed=${following ? 'true' : 'false'} aria-label=${`${label} @${user.username}`}
        aria-busy=${busy ? 'true' : 'false'} onClick=${onClick}>${label}</button>
      ${error && html`<span class="error" role="alert">${error}</span>`}
    </span>`;
}
