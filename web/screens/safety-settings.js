// The safety parts of /settings: the "Private account" switch, and the accounts the
// person blocked or muted, each with a button undoing it.
import { api } from '../api.js';
import { Avatar } from '../avatar.js';
import { html, useState } from '../html.js';
import { More, usePages } from '../pages.js';
import { signedIn } from '../session.js';

/** The switch making `user`'s account private or public, saved as soon as it is flipped
 * (PATCH /api/me); a refusal flips it back with the server's message. */
export function PrivacyForm({ user }) {
  const [checked, setChecked] = useState(user.is_private);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [said, setSaid] = useState('');
  const onChange = async (event) => {
    const wanted = event.currentTarget.checked;
    setChecked(wanted);
    setBusy(true);
    setError(null);
    setSaid('');
    try {
      signedIn(await api('PATCH', '/api/me', { is_private: wanted }));
      setSaid(wanted ? 'Your account is now private' : 'Your account is now public');
    } catch (failure) {
      setChecked(!wanted);
      setError(`Could not change who sees your posts: ${failure.message}`);
    }
    setBusy(false);
  };
  return html`
    <section class="settings" aria-labelledby="privacy-heading">
      <h2 id="privacy-heading">Privacy</h2>
      <div class="switch-row">
        <input id="privacy-private" type="checkbox" role="switch" checked=${checked} disabled=${busy}
          onChange=${onChange} aria-describedby="privacy-hint" />
        <label for="privacy-private">Private account</label>
      </div>
      <p class="hint" id="privacy-hint">Only people you approve see your posts and who you follow; everyone
        still sees your name, picture and bio.</p>
      <p class="error" role="alert">${error}</p>
      <p class="saved" role="status">${said}</p>
    </section>`;
}

function Undoable({ person, verb, path, onDone }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  const undo = async () => {
    setBusy(true);
    setProblem(null);
    try {
      await api('DELETE', `/api/users/${encodeURIComponent(person.username)}/${path}`);
      onDone();
    } catch (failure) {
      setBusy(false);
      setProblem(`Could not ${verb.toLowerCase()} @${person.username}: ${failure.message}`);
    }
  };
  return html`
    <li class="person">
      <${Avatar} user=${person} size=${36} />
      <span class="who-text">
        <span class="person-name">${person.display_name || person.username}</span>
        <span class="handle">@${person.username}</span>
      </span>
      <button type="button" class="quiet" disabled=${busy} aria-label=${`${verb} @${person.username}`}
        onClick=${undo}>${verb}</button>
      ${problem && html`<p class="error" role="alert">${problem}</p>`}
    </li>`;
}

const LISTS = {
  blocks: { title: 'Blocked accounts', verb: 'Unblock', path: 'block',
    none: 'You have not blocked anyone.', done: 'Unblocked' },
  mutes: { title: 'Muted accounts', verb: 'Unmute', path: 'mute',
    none: 'You have not muted anyone.', done: 'Unmuted' },
};

/** "Blocked accounts" (`which` 'blocks') or "Muted accounts" ('mutes'), a page at a time. */
export function PeopleSettings({ which }) {
  const list = LISTS[which];
  const people = usePages(`/api/me/${which}`, 'users', (person) => person.user_id);
  const [said, setSaid] = useState('');
  const done = (person) => () => {
    people.setItems((old) => old.filter((p) => p.user_id !== person.user_id));
    setSaid(`${list.done} @${person.username}`);
  };
  const empty = !people.items.length && !people.loading && !people.error;
  return html`
    <section class="settings" aria-labelledby=${`${which}-heading`}>
      <h2 id=${`${which}-heading`}>${list.title}</h2>
      ${empty && html`<p class="empty">${list.none}</p>`}
      ${people.items.length > 0 && html`
        <ul class="people">
          ${people.items.map((person) => html`<${Undoable} key=${person.user_id} person=${person}
            verb=${list.verb} path=${list.path} onDone=${done(person)} />`)}
        </ul>`}
      <p class="saved" role="status">${said}</p>
      <${More} pages=${people} what=${list.title.toLowerCase()} />
    </section>`;
}
