// The top of every page: the skip link, the brand, the navigation (with the notifications
// button and its panel), who is signed in, and the banner saying when the live connection
// is down.
import { signOut } from './account.js';
import { Avatar } from './avatar.js';
import { useDismiss } from './dismiss.js';
import { Time } from './format.js';
import { html, useEffect, useRef, useState } from './html.js';
import { useConnection } from './live.js';
import { markAllRead, useNotifications } from './notifications.js';
import { useRequests } from './follow-requests.js';
import { navigate } from './router.js';

const PANEL_ID = 'notifications-panel';
const BACK_ONLINE_MS = 3000;

// Icons are drawn on a 24×24 grid with the text colour; each sits beside its name, which
// phones hide visually (the name stays the control's accessible name).
const ICONS = {
  home: 'M3 10.5 12 3l9 7.5V21h-6.5v-6h-5v6H3z',
  add: 'M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zM12 8v8M8 12h8',
  bell: 'M6 16V10a6 6 0 0 1 12 0v6l2 2H4zM10 21h4',
  settings: 'M9.8 2.2h4.4l.5 2.7.4.2 2.3-1.5 3 3-1.5 2.3.2.4 2.7.5v4.4l-2.7.5-.2.4 1.5 2.3-3 3'
    + '-2.3-1.5-.4.2-.5 2.7H9.8l-.5-2.7-.4-.2-2.3 1.5-3-3 1.5-2.3-.2-.4-2.7-.5V9.8l2.7-.5.2-.4'
    + '-1.5-2.3 3-3 2.3 1.5.4-.2zM12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6z',
  signOut: 'M10 4H5v16h5M15 8l4 4-4 4M19 12H9',
  requests: 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM2 21v-1a6 6 0 0 1 6-6h2a6 6 0 0 1 6 6v1M19 8v6M16 11h6',
  shield: 'M12 3 4 6v6c0 4.5 3.4 8.3 8 9 4.6-.7 8-4.5 8-9V6z',
};

function Icon({ name }) {
  return html`
    <svg class="icon" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
      <path d=${ICONS[name]} />
    </svg>`;
}

/** Moves focus to the screen's main heading, or to `main` when it has none; for the skip
 * link and after a client-side navigation, so keyboard and screen-reader users land there. */
export function focusMain() {
  const main = document.getElementById('main');
  const target = (main && main.querySelector('h1')) || main;
  if (!target) return;
  if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
  target.focus();
}

function SkipLink() {
  const onClick = (event) => {
    event.preventDefault(); // the router would otherwise treat it as a navigation
    focusMain();
  };
  return html`<a class="skip" href="#main" onClick=${onClick}>Skip to content</a>`;
}

function NavLink({ href, icon, label, path }) {
  return html`
    <a class="nav-item" href=${href} aria-current=${path === href ? 'page' : undefined}>
      <${Icon} name=${icon} /><span class="label">${label}</span>
    </a>`;
}

const SAID = {
  follow: 'started following you',
  follow_request: 'asked to follow you',
  follow_accepted: 'accepted your follow request',
  like: 'liked your post',
  comment: 'commented on your post',
};

function NotificationItem({ item }) {
  const { actor } = item;
  let href = item.kind === 'follow' || !item.post_id ? `/${actor.username}` : `/p/${item.post_id}`;
  if (item.kind === 'follow_request') href = '/requests';
  return html`
    <li class="notification">
      <${Avatar} user=${actor} size=${36} />
      <span class="what">
        <a href=${href}>${actor.username} ${SAID[item.kind]}</a>
        <${Time} iso=${item.at} />
      </span>
    </li>`;
}

/** The bell with its unread count, and the panel it opens. Opening marks everything read;
 * Escape or a click elsewhere closes it, and Escape gives focus back to the bell. */
function Notifications({ path }) {
  const { items, unread } = useNotifications();
  const [open, setOpen] = useState(false);
  const box = useRef(null);
  const button = useRef(null);
  const title = useRef(null);

  useEffect(() => setOpen(false), [path]);
  useEffect(() => { if (open && unread) markAllRead(); }, [open, unread]);
  useDismiss(open, setOpen, box, button, () => title.current);

  const name = unread ? `Notifications, ${unread} unread` : 'Notifications';
  return html`
    <div class="notify" ref=${box}>
      <button type="button" class="nav-item" ref=${button} aria-label=${name} aria-expanded=${open ? 'true' : 'false'}
        aria-controls=${PANEL_ID} onClick=${() => setOpen(!open)}>
        <${Icon} name="bell" /><span class="label" aria-hidden="true">Notifications</span>
        ${unread > 0 && html`<span class="badge" aria-hidden="true">${unread}</span>`}
      </button>
      <section id=${PANEL_ID} class="panel" aria-labelledby="notifications-title" hidden=${!open}>
        <h2 id="notifications-title" tabindex="-1" ref=${title}>Notifications</h2>
        ${items.length === 0
          ? html`<p class="hint">Nothing yet. Follows, likes and comments show up here while Pixtrio is open.</p>`
          : html`<ul>${items.map((item) => html`<${NotificationItem} key=${item.key} item=${item} />`)}</ul>`}
      </section>
    </div>`;
}

/** "Follow requests" with how many wait, shown only while some do. */
function RequestsLink({ path }) {
  const { count, more } = useRequests();
  if (!count) return null;
  const shown = more ? `${count}+` : String(count);
  return html`
    <a class="nav-item" href="/requests" aria-current=${path === '/requests' ? 'page' : undefined}>
      <${Icon} name="requests" /><span class="label">Follow requests <span class="visually-hidden">(${shown} waiting)</span></span>
      <span class="badge" aria-hidden="true">${shown}</span>
    </a>`;
}

function Account({ session, path }) {
  const [busy, setBusy] = useState(false);
  if (session.status === 'signed-out') {
    return html`
      <a class="nav-text" href="/login" aria-current=${path === '/login' ? 'page' : undefined}>Sign in</a>
      <a class="nav-text" href="/signup" aria-current=${path === '/signup' ? 'page' : undefined}>Sign up</a>`;
  }
  const { user } = session;
  const onSignOut = async () => {
    setBusy(true);
    try {
      await signOut();
    } catch {
      // Signed out here all the same; a server that was not reached keeps the token live.
    }
    setBusy(false);
    navigate('/login');
  };
  const profile = `/${user.username}`;
  return html`
    <a class="nav-item who" href=${profile} aria-current=${path === profile ? 'page' : undefined}>
      <${Avatar} user=${user} size=${28} /><span class="label">${user.display_name || user.username}</span>
    </a>
    <${NavLink} href="/settings" icon="settings" label="Settings" path=${path} />
    <button type="button" class="nav-item" onClick=${onSignOut} disabled=${busy}>
      <${Icon} name="signOut" /><span class="label">Sign out</span>
    </button>`;
}

/** "Offline — reconnecting…" while the live connection is down, "Back online" for a moment
 * after. The status region stays in the page so screen readers announce its changes. */
function ConnectionBanner() {
  const connection = useConnection();
  const [wasOffline, setWasOffline] = useState(false);
  useEffect(() => {
    if (connection === 'offline') setWasOffline(true);
    if (connection !== 'online') return undefined;
    const timer = setTimeout(() => setWasOffline(false), BACK_ONLINE_MS);
    return () => clearTimeout(timer);
  }, [connection]);
  let text = '';
  if (connection === 'offline') text = 'Offline — reconnecting…';
  else if (connection === 'online' && wasOffline) text = 'Back online';
  return html`<div class=${`connection ${connection}`} role="status">${text}</div>`;
}

/** The page header for `session` ({status, user}) at `path`. */
export function Header({ session, path }) {
  const signedIn = session.status === 'signed-in';
  return html`
    <header class="bar">
      <${SkipLink} />
      <a class="brand" href="/">Pixtrio</a>
      ${signedIn && html`
        <nav class="main-nav" aria-label="Main">
          <${NavLink} href="/" icon="home" label="Home" path=${path} />
          <${NavLink} href="/new" icon="add" label="New post" path=${path} />
          <${RequestsLink} path=${path} />
          <${Notifications} path=${path} />
          ${['moderator', 'admin'].includes(session.user.role)
            && html`<${NavLink} href="/mod" icon="shield" label="Moderation" path=${path} />`}
        </nav>`}
      <nav class="account-nav" aria-label="Account">
        ${session.status !== 'checking' && html`<${Account} session=${session} path=${path} />`}
      </nav>
      <${ConnectionBanner} />
    </header>`;
}
