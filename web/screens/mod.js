// /mod, for moderators and admins: the report queue with its resolutions, suspending and
// unsuspending by username, the photo hash blocklist, and the audit log. Anyone else is
// told plainly that it is not for them (the API answers them 403 all the same).
import { api } from '../api.js';
import { Time } from '../format.js';
import { html, useState } from '../html.js';
import { More, usePages } from '../pages.js';
import { useSession } from '../session.js';

const STAFF = new Set(['moderator', 'admin']);
const SOURCES = { image: 'an image', pdq: 'a PDQ hash', post: 'post' };
const RESOLUTIONS = { dismiss: 'Dismissed', remove: 'Removed', suspend: 'Suspended' };

function Report({ report, onResolved }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null);
  const { summary } = report;
  const owner = summary.owner && summary.owner.username;
  const resolve = async (action) => {
    setBusy(true);
    setProblem(null);
    try {
      const answer = await api('POST', `/api/mod/reports/${report.report_id}/resolve`, { action });
      onResolved({ ...report, ...answer, summary: { ...summary, owner_suspended:
        action === 'suspend' || summary.owner_suspended, exists: action !== 'remove' && summary.exists } });
    } catch (failure) {
      setProblem(`Could not resolve the report: ${failure.message}`);
    }
    setBusy(false);
  };
  const open = report.status === 'open';
  const label = `Report ${report.report_id}`;
  return html`
    <li class="mod-item">
      <p><strong>${report.reason.replace('_', ' ')}</strong>${` · ${report.target}`}
        ${owner && html` by <a href=${`/${owner}`}>@${owner}</a>`}
        ${summary.owner_suspended && html` <span class="tag">suspended</span>`}
        ${!summary.exists && html` <span class="tag">gone</span>`}${' · '}<${Time} iso=${report.created_at} /></p>
      ${summary.text && html`<blockquote>${summary.text}</blockquote>`}
      ${summary.post_id && summary.exists && html`<p><a href=${`/p/${summary.post_id}`}>Open the post</a></p>`}
      ${report.text && html`<p>Reporter's note: ${report.text}</p>`}
      <p class="hint">Reported by ${report.reporter ? `@${report.reporter.username}` : 'a removed account'}</p>
      ${open
        ? html`
          <div class="mod-actions" role="group" aria-label=${`Resolve ${label}`}>
            <button type="button" class="quiet" disabled=${busy} onClick=${() => resolve('dismiss')}>Dismiss</button>
            ${report.target !== 'user' && html`
              <button type="button" class="danger" disabled=${busy || !summary.exists}
                onClick=${() => resolve('remove')}>Remove ${report.target}</button>`}
            <button type="button" class="danger" disabled=${busy || !owner}
              onClick=${() => resolve('suspend')}>Suspend ${owner ? `@${owner}` : 'the author'}</button>
          </div>`
        : html`<p class="resolved">${RESOLUTIONS[report.resolution] || 'Resolved'}</p>`}
      <p class="error" role="alert">${problem}</p>
    </li>`;
}

function Reports() {
  const reports = usePages('/api/mod/reports', 'reports', (report) => report.report_id);
  const resolved = (updated) => reports.setItems((old) => old.map(
    (report) => (report.report_id === updated.report_id ? updated : report)));
  const empty = !reports.items.length && !reports.loading && !reports.error;
  return html`
    <section class="mod-section" aria-labelledby="reports-heading">
      <h2 id="reports-heading">Reports</h2>
      ${empty && html`<p class="empty">No reports.</p>`}
      <ul class="mod-list">
        ${reports.items.map((report) => html`<${Report} key=${report.report_id} report=${report} onResolved=${resolved} />`)}
      </ul>
      <${More} pages=${reports} what="reports" />
    </section>`;
}

function Suspension() {
  const [username, setUsername] = useState('');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [said, setSaid] = useState('');
  const act = async (verb) => {
    const name = username.trim().replace(/^@/, '');
    setError(null);
    setSaid('');
    if (!name) {
      setError('Type a username first.');
      return;
    }
    setBusy(true);
    try {
      await api('POST', `/api/mod/users/${encodeURIComponent(name)}/${verb}`, verb === 'suspend' ? { reason } : {});
      setSaid(`${verb === 'suspend' ? 'Suspended' : 'Unsuspended'} @${name}`);
    } catch (failure) {
      setError(`Could not ${verb} @${name}: ${failure.message}`);
    }
    setBusy(false);
  };
  return html`
    <form class="mod-section settings" aria-labelledby="suspend-heading" onSubmit=${(e) => { e.preventDefault(); act('suspend'); }}>
      <h2 id="suspend-heading">Suspend an account</h2>
      <div class="field">
        <label for="suspend-username">Username</label>
        <input id="suspend-username" autocomplete="off" value=${username} onInput=${(e) => setUsername(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="suspend-reason">Reason (optional, kept in the audit log)</label>
        <input id="suspend-reason" maxlength="1000" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
      </div>
      <p class="error" role="alert">${error}</p>
      <div class="form-end">
        <button type="submit" class="danger" disabled=${busy}>Suspend</button>
        <button type="button" class="quiet" disabled=${busy} onClick=${() => act('unsuspend')}>Unsuspend</button>
        <p class="saved" role="status">${said}</p>
      </div>
    </form>`;
}

function BlockEntry({ entry, onRemoved }) {
  const [problem, setProblem] = useState(null);
  const remove = async () => {
    setProblem(null);
    try {
      await api('DELETE', `/api/mod/hash-blocklist/${entry.block_id}`);
      onRemoved();
    } catch (failure) {
      setProblem(`Could not remove the entry: ${failure.message}`);
    }
  };
  return html`
    <li class="mod-item">
      <p><code class="pdq">${entry.pdq}</code></p>
      <p class="hint">${`From ${SOURCES[entry.source] || entry.source}${entry.post_id ? ` ${entry.post_id}` : ''} · `}<${Time}
        iso=${entry.created_at} />${entry.note && ` · ${entry.note}`}</p>
      <button type="button" class="quiet danger" aria-label=${`Remove the entry ${entry.pdq.slice(0, 12)}…`}
        onClick=${remove}>Remove</button>
      <p class="error" role="alert">${problem}</p>
    </li>`;
}

function Blocklist() {
  const entries = usePages('/api/mod/hash-blocklist', 'entries', (entry) => entry.block_id);
  const [file, setFile] = useState(null);
  const [pdq, setPdq] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [said, setSaid] = useState('');
  const add = async (event, how) => {
    event.preventDefault();
    setError(null);
    setSaid('');
    if (how === 'image' ? !file : !pdq.trim()) {
      setError(how === 'image' ? 'Choose an image first.' : 'Type a PDQ hash first.');
      return;
    }
    setBusy(true);
    try {
      const entry = how === 'image'
        ? await api('POST', `/api/mod/hash-blocklist?note=${encodeURIComponent(note)}`, file)
        : await api('POST', '/api/mod/hash-blocklist', { pdq: pdq.trim(), note });
      entries.setItems((old) => [entry, ...old.filter((e) => e.block_id !== entry.block_id)]);
      setSaid('Added to the blocklist');
      setPdq('');
    } catch (failure) {
      setError(`Could not add it: ${failure.message}`);
    }
    setBusy(false);
  };
  const removed = (entry) => () => {
    entries.setItems((old) => old.filter((e) => e.block_id !== entry.block_id));
    setSaid('Removed from the blocklist');
  };
  return html`
    <section class="mod-section" aria-labelledby="blocklist-heading">
      <h2 id="blocklist-heading">Photo blocklist</h2>
      <p class="hint">Uploads that look like a blocked image (also turned, mirrored or slightly cropped) are refused.</p>
      <div class="field">
        <label for="block-note">Note (optional)</label>
        <input id="block-note" maxlength="1000" value=${note} onInput=${(e) => setNote(e.currentTarget.value)} />
      </div>
      <form class="mod-add" onSubmit=${(e) => add(e, 'image')}>
        <div class="field">
          <label for="block-file">Block an image</label>
          <input id="block-file" type="file" accept="image/*" onChange=${(e) => setFile(e.currentTarget.files[0] || null)} />
        </div>
        <button type="submit" disabled=${busy}>Add image</button>
      </form>
      <form class="mod-add" onSubmit=${(e) => add(e, 'pdq')}>
        <div class="field">
          <label for="block-pdq">Block a PDQ hash (64 hexadecimal digits)</label>
          <input id="block-pdq" autocomplete="off" spellcheck="false" maxlength="64" value=${pdq}
            onInput=${(e) => setPdq(e.currentTarget.value)} />
        </div>
        <button type="submit" disabled=${busy}>Add hash</button>
      </form>
      <p class="error" role="alert">${error}</p>
      <p class="saved" role="status">${said}</p>
      ${!entries.items.length && !entries.loading && !entries.error && html`<p class="empty">The blocklist is empty.</p>`}
      <ul class="mod-list">
        ${entries.items.map((entry) => html`<${BlockEntry} key=${entry.block_id} entry=${entry} onRemoved=${removed(entry)} />`)}
      </ul>
      <${More} pages=${entries} what="blocklist entries" />
    </section>`;
}

function Audit() {
  const actions = usePages('/api/mod/audit', 'actions', (action) => action.action_id);
  return html`
    <section class="mod-section" aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit log</h2>
      ${!actions.items.length && !actions.loading && !actions.error && html`<p class="empty">Nothing yet.</p>`}
      <ul class="mod-list audit">
        ${actions.items.map((entry) => html`
          <li key=${entry.action_id}>
            <${Time} iso=${entry.created_at} />${` · ${entry.actor ? `@${entry.actor.username}` : 'command line'} · `}
            <strong>${entry.action}</strong>${` ${entry.target_kind} ${entry.target_id}`}
            ${entry.details && ` · ${entry.details}`}
          </li>`)}
      </ul>
      <${More} pages=${actions} what="the audit log" />
    </section>`;
}

/** The /mod screen (app.js shows it signed in only). */
export function ModScreen() {
  const { user } = useSession();
  if (!user) return null;
  if (!STAFF.has(user.role)) {
    return html`
      <h1>Moderation</h1>
      <p>Not allowed: this page is for moderators. <a href="/">Go to the home page</a></p>`;
  }
  return html`
    <h1>Moderation</h1>
    <${Reports} />
    <${Suspension} />
    <${Blocklist} />
    <${Audit} />`;
}
