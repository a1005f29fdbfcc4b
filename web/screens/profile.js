// The profile screens: /{username} (picture, name, bio, counts, follow button, the "…"
// menu to block, mute or report, and the grid of posts, kept live; a private account's
// posts and lists only for its followers) and /{username}/followers|following.
import { api } from '../api.js';
import { Avatar } from '../avatar.js';
import { FollowButton } from '../follow-button.js';
import { html, useEffect, useRef, useState } from '../html.js';
import { useLive } from '../live.js';
import { MoreMenu } from '../more-menu.js';
import { More, usePages } from '../pages.js';
import { PostGrid } from '../post-grid.js';
import { ReportDialog } from '../report-dialog.js';
import { useSession } from '../session.js';

const userPath = (username) => `/api/users/${encodeURIComponent(username)}`;

function Missing() {
  return html`
    <h1>This account doesn't exist</h1>
    <p>The link may be broken, or the account may have been removed. <a href="/">Go to the home page</a></p>`;
}

/** The profile of `username` as `{user, setUser, failure, reload}` (`failure` an ApiError). */
function useProfile(username) {
  const [user, setUser] = useState(null);
  const [failure, setFailure] = useState(null);
  const asked = useRef(username);
  const reload = async () => {
    asked.current = username;
    setFailure(null);
    try {
      const found = await api('GET', userPath(username));
      if (asked.current === username) setUser(found);
    } catch (error) {
      if (asked.current === username) setFailure(error);
    }
  };
  useEffect(() => {
    setUser(null);
    reload();
  }, [username]);
  return { user, setUser, failure, reload };
}

/** Whether the signed-in viewer (`me`, a username or null) is kept from `user`'s posts
 * and lists: a private account they do not follow. */
function closed(user, me) {
  return user.is_private && !user.followed_by_viewer && me !== user.username;
}

function Counts({ user, linked }) {
  const base = `/${user.username}`;
  const { posts_count: posts, followers_count: followers, following_count: following } = user;
  const list = (path, content) => (linked ? html`<a href=${`${base}/${path}`}>${content}</a>` : content);
  return html`
    <ul class="counts">
      <li><strong>${posts}</strong> ${posts === 1 ? 'post' : 'posts'}</li>
      <li>${list('followers', html`<strong>${followers}</strong> ${followers === 1 ? 'follower' : 'followers'}`)}</li>
      <li>${list('following', html`<strong>${following}</strong> following`)}</li>
    </ul>`;
}

function Lock() {
  return html`
    <span class="lock" title="Private account">
      <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
        <path d="M7 11V8a5 5 0 0 1 10 0v3M5 11h14v10H5z" /></svg>
      <span class="visually-hidden">Private account</span>
    </span>`;
}

function PrivateNote({ user }) {
  return html`
    <section class="private-note" aria-labelledby="private-note-title">
      <${Lock} />
      <h2 id="private-note-title">This account is private</h2>
      <p>Follow @${user.username} to see their posts and who they follow; they approve each request.</p>
    </section>`;
}

/** Block (after an in-page confirmation), mute or unmute, and report `user`; the screen
 * is told of a block with `onBlocked()` and of a mute with `setUser`. */
function SafetyMenu({ user, setUser, onBlocked }) {
  const [asking, setAsking] = useState(false);
  const [reporting, setReporting] = useState(false);
  const [problem, setProblem] = useState(null);
  const [said, setSaid] = useState('');
  const cancel = useRef(null);
  const path = `${userPath(user.username)}`;
  useEffect(() => { if (asking) cancel.current.focus(); }, [asking]);
  const call = async (method, what, then) => {
    setProblem(null);
    try {
      await api(method, path + what);
      then();
    } catch (failure) {
      setProblem(`Could not ${method === 'POST' ? '' : 'un'}${what.slice(1)} @${user.username}: ${failure.message}`);
    }
  };
  const mute = (muted) => call(muted ? 'POST' : 'DELETE', '/mute', () => {
    setUser((old) => ({ ...old, muted_by_viewer: muted }));
    setSaid(muted ? `Muted: posts by @${user.username} no longer show in your feed.` : `Unmuted @${user.username}.`);
  });
  const items = [
    { label: user.muted_by_viewer ? 'Unmute' : 'Mute', onSelect: () => mute(!user.muted_by_viewer) },
    { label: 'Block', danger: true, onSelect: () => { setSaid(''); setAsking(true); } },
    { label: 'Report', danger: true, onSelect: () => setReporting(true) },
  ];
  return html`
    <${MoreMenu} label=${`More for @${user.username}`} items=${items} />
    ${asking && html`
      <div class="confirm block-confirm" role="group" aria-labelledby="block-question">
        <p id="block-question">Block @${user.username}? Neither of you will see the other's profile, posts or
          comments, and any follows between you end. They are not told.</p>
        <button type="button" class="danger" onClick=${() => call('POST', '/block', onBlocked)}>Block</button>
        <button type="button" class="quiet" ref=${cancel} onClick=${() => setAsking(false)}>Cancel</button>
      </div>`}
    <p class="error" role="alert">${problem}</p>
    <p class="saved" role="status">${said}</p>
    ${reporting && html`<${ReportDialog} target="user" id=${user.user_id} onClose=${() => setReporting(false)} />`}`;
}

function ProfileActions({ user, setUser, onBlocked }) {
  const session = useSession();
  if (session.status === 'checking') return null;
  if (session.status !== 'signed-in') return html`<a class="action" href="/login">Sign in to follow</a>`;
  if (session.user.username === user.username) return html`<a class="action" href="/settings">Edit profile</a>`;
  const onChange = (state) => setUser((old) => ({
    ...old,
    followed_by_viewer: state === 'following',
    requested_by_viewer: state === 'requested',
    followers_count: old.followers_count + (state === 'following') - Boolean(old.followed_by_viewer),
  }));
  return html`
    <div class="profile-actions">
      <${FollowButton} user=${user} onChange=${onChange} />
      <${SafetyMenu} user=${user} setUser=${setUser} onBlocked=${onBlocked} />
    </div>`;
}

function ProfileHead({ user, setUser, linked, onBlocked }) {
  return html`
    <section class="profile-head" aria-labelledby="profile-name">
      <${Avatar} user=${user} size=${96} />
      <div class="profile-who">
        <h1 id="profile-name">${user.display_name || user.username}${user.is_private && html` <${Lock} />`}</h1>
        <p class="handle">@${user.username}</p>
        <${Counts} user=${user} linked=${linked} />
        <${ProfileActions} user=${user} setUser=${setUser} onBlocked=${onBlocked} />
      </div>
      ${user.bio && html`<p class="bio">${user.bio}</p>`}
    </section>`;
}

/** What the viewer sees of a profile they just blocked (the server now answers it 404). */
function Blocked({ username, onUnblocked }) {
  const [problem, setProblem] = useState(null);
  const unblock = async () => {
    setProblem(null);
    try {
      await api('DELETE', `${userPath(username)}/block`);
      onUnblocked();
    } catch (failure) {
      setProblem(`Could not unblock @${username}: ${failure.message}`);
    }
  };
  return html`
    <h1>You blocked @${username}</h1>
    <p>You won't see each other's profiles, posts or comments.</p>
    <button type="button" onClick=${unblock}>Unblock @${username}</button>
    <p class="error" role="alert">${problem}</p>`;
}

/** /{username}: the person's header and their posts, newest first. Deleted posts leave
 * the grid as they go; new ones by this person join it at the top. */
export function ProfileScreen({ current }) {
  const { username } = current;
  const profile = useProfile(username);
  const posts = usePages(`${userPath(username)}/posts`, 'posts', (post) => post.post_id);
  const session = useSession();
  const [blocked, setBlocked] = useState(false);
  useEffect(() => setBlocked(false), [username]);
  const shown = useRef(posts.items);
  shown.current = posts.items;

  useLive((event) => {
    if (event.t === 'resync') {
      profile.reload();
      posts.reload();
    } else if (event.t === 'post.deleted' && shown.current.some((p) => p.post_id === event.post_id)) {
      posts.setItems((old) => old.filter((p) => p.post_id !== event.post_id));
      profile.setUser((old) => old && { ...old, posts_count: Math.max(0, old.posts_count - 1) });
    } else if (event.t === 'feed.insert' && event.post.author.username === username) {
      const known = shown.current.some((p) => p.post_id === event.post.post_id);
      posts.setItems((old) => (known
        ? old.map((p) => (p.post_id === event.post.post_id ? event.post : p))
        : [event.post, ...old]));
      if (!known) profile.setUser((old) => old && { ...old, posts_count: old.posts_count + 1 });
    } else if (event.t === 'notification' && event.kind === 'follow_accepted'
        && event.actor && event.actor.username === username) {
      profile.reload(); // their posts and lists open up
      posts.reload();
    }
  }, [username]);

  const { user, failure } = profile;
  if (blocked) {
    return html`<${Blocked} username=${username}
      onUnblocked=${() => { setBlocked(false); profile.reload(); posts.reload(); }} />`;
  }
  if (failure && failure.status === 404) return html`<${Missing} />`;
  if (failure) {
    return html`
      <div class="problem" role="alert">
        <p>Could not load @${username}: ${failure.message}</p>
        <button type="button" onClick=${() => { profile.reload(); posts.reload(); }}>Try again</button>
      </div>`;
  }
  if (!user) return html`<p class="loading" role="status">Loading @${username}…</p>`;
  const me = session.status === 'signed-in' ? session.user.username : null;
  // A 404 for the posts of a profile that shows is a private account's: not an error.
  const hidden = closed(user, me) || (posts.error && posts.error.status === 404);
  const head = html`<${ProfileHead} user=${user} setUser=${profile.setUser} linked=${!hidden}
    onBlocked=${() => setBlocked(true)} />`;
  if (hidden) return html`${head}<${PrivateNote} user=${user} />`;
  const empty = !posts.items.length && !posts.loading && !posts.error;
  return html`
    ${head}
    ${empty
      ? html`<p class="empty">No posts yet.</p>`
      : html`<${PostGrid} posts=${posts.items} label=${`Posts by @${user.username}`} />`}
    <${More} pages=${posts} what="posts" />`;
}

function Person({ person, me }) {
  return html`
    <li class="person">
      <${Avatar} user=${person} size=${44} />
      <a href=${`/${person.username}`}>
        <span class="person-name">${person.display_name || person.username}</span>
        <span class="handle">@${person.username}</span>
      </a>
      ${me && me !== person.username && html`<${FollowButton} user=${person} />`}
    </li>`;
}

/** /{username}/followers and /{username}/following: the people, a page at a time, each
 * with a follow button for a signed-in viewer (not beside the viewer themself). */
export function FollowListScreen({ current }) {
  const { username, name } = current;
  const session = useSession();
  const people = usePages(`${userPath(username)}/${name}`, 'users', (person) => person.user_id);
  const me = session.status === 'signed-in' ? session.user.username : null;
  if (people.error && people.error.status === 404) return html`<${Missing} />`;
  const title = name === 'followers' ? `People following @${username}` : `People @${username} follows`;
  const empty = !people.items.length && !people.loading && !people.error;
  return html`
    <p class="back"><a href=${`/${username}`}>← Back to @${username}</a></p>
    <h1>${title}</h1>
    ${empty && html`<p class="empty">${name === 'followers' ? 'No followers yet.' : 'Not following anyone yet.'}</p>`}
    ${people.items.length > 0 && html`
      <ul class="people">
        ${people.items.map((person) => html`<${Person} key=${person.user_id} person=${person} me=${me} />`)}
      </ul>`}
    ${people.loading && !people.items.length && html`<p class="loading" role="status">Loading…</p>`}
    <${More} pages=${people} what=${name} />`;
}
