// The /settings screen (signed in only): the person's display name and bio, a new
// profile picture, previewed before it is sent, whether the account is private, and the
// accounts they blocked or muted. What is saved shows in the header at once.
import { api } from '../api.js';
import { Avatar } from '../avatar.js';
import { html, useEffect, useRef, useState } from '../html.js';
import { signedIn, useSession } from '../session.js';
import { PeopleSettings, PrivacyForm } from './safety-settings.js';

const PROFILE_FIELDS = ['display_name', 'bio'];

// What a refused picture means to the person choosing it (the server's message follows).
const PICTURE_PROBLEMS = {
  413: 'That file is too large for a profile picture; choose a smaller one.',
  415: 'That file is not a picture Pixtrio can use; choose a JPEG, PNG, WebP, HEIC or GIF image.',
  422: 'That picture could not be read; choose another one.',
};

function ProfileForm({ user }) {
  const [displayName, setDisplayName] = useState(user.display_name || '');
  const [bio, setBio] = useState(user.bio || '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const formRef = useRef(null);

  const onSubmit = async (event) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      signedIn(await api('PATCH', '/api/me', { display_name: displayName, bio }));
      setSaved(true);
    } catch (failure) {
      const field = failure.field ? failure.field(PROFILE_FIELDS) : undefined;
      setError({ message: failure.message, field });
      if (field) formRef.current.elements[field].focus();
    }
    setBusy(false);
  };
  const invalid = (field) => (error && error.field === field ? 'true' : undefined);
  const describedBy = (field, hint) => [hint, invalid(field) && 'profile-error'].filter(Boolean).join(' ') || undefined;
  const edited = (set) => (event) => { set(event.currentTarget.value); setSaved(false); };

  return html`
    <form class="settings" ref=${formRef} onSubmit=${onSubmit} aria-labelledby="profile-heading"
      aria-busy=${busy ? 'true' : 'false'}>
      <h2 id="profile-heading">Profile</h2>
      <div class="field">
        <label for="profile-display_name">Display name</label>
        <input id="profile-display_name" name="display_name" autocomplete="name" maxlength="64"
          value=${displayName} onInput=${edited(setDisplayName)} aria-invalid=${invalid('display_name')}
          aria-describedby=${describedBy('display_name', 'profile-display_name-hint')} />
        <p class="hint" id="profile-display_name-hint">Shown instead of your username; up to 64 characters.</p>
      </div>
      <div class="field">
        <label for="profile-bio">Bio</label>
        <textarea id="profile-bio" name="bio" rows="4" maxlength="150" value=${bio} onInput=${edited(setBio)}
          aria-invalid=${invalid('bio')} aria-describedby=${describedBy('bio', 'profile-bio-hint')}></textarea>
        <p class="hint" id="profile-bio-hint">${bio.length} of 150 characters; line breaks are kept.</p>
      </div>
      <p class="error" id="profile-error" role="alert">${error && error.message}</p>
      <div class="form-end">
        <button type="submit">${busy ? 'Saving…' : 'Save profile'}</button>
        <p class="saved" role="status">${saved ? 'Saved' : ''}</p>
      </div>
    </form>`;
}

function PictureForm({ user }) {
  const [file, setFile] = useState(null);
  const [preview, setPreview] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(false);
  const input = useRef(null);

  useEffect(() => {
    if (!file) return undefined;
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => { URL.revokeObjectURL(url); setPreview(null); };
  }, [file]);

  const onChoose = (event) => {
    setFile(event.currentTarget.files[0] || null);
    setError(null);
    setDone(false);
  };
  const onSubmit = async (event) => {
    event.preventDefault();
    if (busy) return;
    if (!file) {
      setError('Choose a picture first.');
      input.current.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      signedIn(await api('PUT', '/api/me/avatar', file));
      setFile(null);
      input.current.value = '';
      setDone(true);
    } catch (failure) {
      const problem = PICTURE_PROBLEMS[failure.status];
      setError(problem ? `${problem} (${failure.message})` : `Could not upload the picture: ${failure.message}`);
    }
    setBusy(false);
  };

  return html`
    <form class="settings" onSubmit=${onSubmit} aria-labelledby="picture-heading" aria-busy=${busy ? 'true' : 'false'}>
      <h2 id="picture-heading">Profile picture</h2>
      <div class="picture-row">
        ${preview
          ? html`<img class="avatar" src=${preview} alt="Preview of your new profile picture" width="96" height="96" />`
          : html`<${Avatar} user=${user} size=${96} />`}
        <div class="field">
          <label for="picture-file">Choose a new profile picture</label>
          <input id="picture-file" type="file" accept="image/*" ref=${input} onChange=${onChoose}
            aria-invalid=${error ? 'true' : undefined} aria-describedby=${error ? 'picture-error' : undefined} />
        </div>
      </div>
      <p class="error" id="picture-error" role="alert">${error}</p>
      <div class="form-end">
        <button type="submit">${busy ? 'Uploading…' : 'Upload picture'}</button>
        <p class="saved" role="status">${done ? 'Profile picture updated' : ''}</p>
      </div>
    </form>`;
}

/** /settings: the signed-in person's profile, picture, privacy, blocks and mutes (app.js
 * shows it signed in only). */
export function SettingsScreen() {
  const { user } = useSession();
  if (!user) return null;
  return html`
    <h1>Settings</h1>
    <p><a href=${`/${user.username}`}>View your profile</a></p>
    <${ProfileForm} user=${user} />
    <${PictureForm} user=${user} />
    <${PrivacyForm} user=${user} />
    <${PeopleSettings} which="blocks" />
    <${PeopleSettings} which="mutes" />`;
}
