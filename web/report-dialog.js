// Reporting a post, a comment or an account to the moderators: a modal dialog with the
// reasons in plain words and an optional note, sent as POST /api/reports.
import { api } from './api.js';
import { html, useEffect, useRef, useState } from './html.js';

// The API's reasons (docs/api.md), as the person reporting reads them.
const REASONS = [
  ['spam', 'Spam or a scam'],
  ['nudity', 'Nudity or sexual content'],
  ['violence', 'Violence or threats'],
  ['harassment', 'Bullying or harassment'],
  ['hate', 'Hate speech or symbols'],
  ['self_harm', 'Suicide or self-harm'],
  ['illegal', 'Something illegal'],
  ['other', 'Something else'],
];
const NOUNS = { post: 'post', comment: 'comment', user: 'account' };

/** The dialog reporting `target` ('post', 'comment' or 'user') `id`, open from the start;
 * `onClose()` when it is closed (sent or not). Focus goes back where it was. */
export function ReportDialog({ target, id, onClose }) {
  const [reason, setReason] = useState(null);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [sent, setSent] = useState(false);
  const dialog = useRef(null);
  const done = useRef(null);
  useEffect(() => {
    const opener = document.activeElement;
    dialog.current.showModal();
    return () => { if (opener && opener.isConnected) opener.focus(); };
  }, []);
  useEffect(() => { if (sent) done.current.focus(); }, [sent]);

  const onSubmit = async (event) => {
    event.preventDefault();
    if (busy) return;
    if (!reason) {
      setError('Choose a reason first.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api('POST', '/api/reports', { target, id, reason, ...(text.trim() ? { text } : {}) });
      setSent(true);
    } catch (failure) {
      setError(`Could not send the report: ${failure.message}`);
    }
    setBusy(false);
  };
  const noun = NOUNS[target];
  return html`
    <dialog class="report" ref=${dialog} aria-labelledby="report-title" onClose=${onClose}>
      <h2 id="report-title">Report this ${noun}</h2>
      ${sent
        ? html`
          <p role="status">Thanks: the moderators will look at it.</p>
          <button type="button" ref=${done} onClick=${() => dialog.current.close()}>Done</button>`
        : html`
          <form onSubmit=${onSubmit} aria-busy=${busy ? 'true' : 'false'}>
            <fieldset>
              <legend>Why are you reporting it?</legend>
              ${REASONS.map(([value, label]) => html`
                <label key=${value} class="choice">
                  <input type="radio" name="reason" value=${value} checked=${reason === value}
                    onChange=${() => { setReason(value); setError(null); }} /> ${label}
                </label>`)}
            </fieldset>
            <div class="field">
              <label for="report-text">Anything to add? (optional)</label>
              <textarea id="report-text" rows="3" maxlength="1000" value=${text}
                onInput=${(event) => setText(event.currentTarget.value)}></textarea>
            </div>
            <p class="error" role="alert">${error}</p>
            <div class="form-end">
              <button type="submit" disabled=${busy}>${busy ? 'Sending…' : 'Send report'}</button>
              <button type="button" class="quiet" onClick=${() => dialog.current.close()}>Cancel</button>
            </div>
          </form>`}
    </dialog>`;
}
