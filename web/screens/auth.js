// The /login and /signup screens: labelled forms whose errors show as text beside them,
// with the field the server named marked invalid and focused.
import { signIn, signUp } from '../account.js';
import { html, useRef, useState } from '../html.js';
import { navigate } from '../router.js';

function Field({ form, name, label, type = 'text', autocomplete, invalid, hint, ...rest }) {
  const id = `${form}-${name}`;
  const described = [hint && `${id}-hint`, invalid && `${form}-error`].filter(Boolean).join(' ');
  return html`
    <div class="field">
      <label for=${id}>${label}</label>
      <input id=${id} name=${name} type=${type} autocomplete=${autocomplete} required
        aria-invalid=${invalid ? 'true' : undefined} aria-describedby=${described || undefined} ...${rest} />
      ${hint && html`<p class="hint" id=${`${id}-hint`}>${hint}</p>`}
    </div>`;
}

/** A form that sends its fields to `submit` and goes to / when it resolves. */
function AuthForm({ form, title, fields, submit, action, busyAction, children }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef(null);

  const onSubmit = async (event) => {
    event.preventDefault();
    if (busy) return;
    const data = new FormData(event.currentTarget);
    setBusy(true);
    try {
      await submit(...fields.map((f) => data.get(f.name)));
      navigate('/');
    } catch (failure) {
      const named = failure.field ? failure.field(fields.map((f) => f.name)) : undefined;
      setError({ message: failure.message, field: named });
      setBusy(false);
      if (named) formRef.current.elements[named].focus();
    }
  };

  return html`
    <h1>${title}</h1>
    <form class="auth" ref=${formRef} onSubmit=${onSubmit} aria-busy=${busy ? 'true' : 'false'}>
      ${fields.map((f) => html`<${Field} key=${f.name} form=${form} invalid=${error && error.field === f.name} ...${f} />`)}
      <p class="error" id=${`${form}-error`} role="alert">${error && error.message}</p>
      <button type="submit">${busy ? busyAction : action}</button>
    </form>
    ${children}`;
}

export function LoginScreen() {
  return html`
    <${AuthForm} form="login" title="Sign in" action="Sign in" busyAction="Signing in…" submit=${signIn}
      fields=${[
        { name: 'login', label: 'Username or email', autocomplete: 'username', autocapitalize: 'none', spellcheck: false },
        { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' },
      ]}>
      <p>New to Pixtrio? <a href="/signup">Create an account</a></p>
    <//>`;
}

export function SignupScreen() {
  return html`
    <${AuthForm} form="signup" title="Sign up" action="Create account" busyAction="Creating account…" submit=${signUp}
      fields=${[
        { name: 'username', label: 'Username', autocomplete: 'username', autocapitalize: 'none', spellcheck: false,
          hint: 'Letters, digits, dots and underscores; up to 30.' },
        { name: 'email', label: 'Email', type: 'email', autocomplete: 'email' },
        { name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', minLength: 8,
          hint: 'At least 8 characters.' },
      ]}>
      <p>Already have an account? <a href="/login">Sign in</a></p>
    <//>`;
}
