// /requests (signed in only): the people asking to follow the signed-in person, newest
// first, each with Accept and Decline. New requests arriving live join the list.
import { api } from '../api.js';
import { Avatar } from '../avatar.js';
import { refreshRequests } from '../follow-requests.js';
import { html, useState } from '../html.js';
import { useLive } from '../live.js';
import { More, usePages } from '../pages.js';
import { useSession } from '../session.js';

function Request({ person, onAnswered }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  const answer = async (verb) => {
    setBusy(true);
    setProblem(null);
    try {
      await api('POST', `/api/me/follow-requests/${encodeURIComponent(person.username)}/${verb}`);
      onAnswered(verb === 'accept' ? `@${person.username} now follows you.` : `Declined @${person.username}.`);
    } catch (failure) {
      setBusy(false);
      setProblem(`Could not ${verb} @${person.username}: ${failure.message}`);
    }
  };
  return html`
    <li class="person">
      <${Avatar} user=${person} size=${44} />
      <a href=${`/${person.username}`}>
        <span class="person-name">${person.display_name || person.username}</span>
        <span class="handle">@${person.username}</span>
      </a>
      <span class="answer" role="group" aria-label=${`Request from @${person.username}`}>
        <button type="button" disabled=${busy} onClick=${() => answer('accept')}>Accept</button>
        <button type="button" class="quiet" disabled=${busy} onClick=${() => answer('decline')}>Decline</button>
      </span>
      ${problem && html`<p class="error" role="alert">${problem}</p>`}
    </li>`;
}

/** The /requests screen. */
export function RequestsScreen() {
  const people = usePages('/api/me/follow-requests', 'users', (person) => person.user_id);
  const [said, setSaid] = useState('');
  const { user } = useSession();
  useLive((event) => {
    if (event.t === 'resync' || (event.t === 'notification' && event.kind === 'follow_request')) people.reload();
  });
  const answered = (person) => (message) => {
    people.setItems((old) => old.filter((p) => p.user_id !== person.user_id));
    setSaid(message);
    refreshRequests();
  };
  const empty = !people.items.length && !people.loading && !people.error;
  return html`
    <h1>Follow requests</h1>
    <p class="hint">${user && user.is_private
      ? 'Your account is private: people you accept see your posts and who you follow.'
      : 'Your account is public: anyone can follow you. Make it private in Settings to approve each follower.'}</p>
    <p class="saved" role="status">${said}</p>
    ${empty && html`<p class="empty">No one is waiting.</p>`}
    ${people.items.length > 0 && html`
      <ul class="people requests">
        ${people.items.map((person) => html`
          <${Request} key=${person.user_id} person=${person} onAnswered=${answered(person)} />`)}
      </ul>`}
    ${people.loading && !people.items.length && html`<p class="loading" role="status">Loading…</p>`}
    <${More} pages=${people} what="requests" />`;
}
