// The profile screens: /{username} (picture, name, bio, counts, follow button and the
// grid of posts, kept live) and /{username}/followers|following (people to follow).
import { api } from '../api.js';
import { Avatar } from '../avatar.js';
import { FollowButton } from '../follow-button.js';
import { html, useEffect, useRef, useState } from '../html.js';
import { useLive } from '../live.js';
import { More, usePages } from '../pages.js';
import { PostGrid } from '../post-grid.js';
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

function Counts({ user }) {
  const base = `/${user.username}`;
  const { posts_count: posts, followers_count: followers, following_count: following } = user;
  return html`
    <ul class="counts">
      <li><strong>${posts}</strong> ${posts === 1 ? 'post' : 'posts'}</li>
      <li><a href=${`${base}/followers`}><strong>${followers}</strong> ${followers === 1 ? 'follower' : 'followers'}</a></li>
      <li><a href=${`${base}/following`}><strong>${following}</strong> following</a></li>
    </ul>`;
}

function ProfileActions({ user, setUser }) {
  const session = useSession();
  if (session.status === 'checking') return null;
  if (session.status !== 'signed-in') return html`<a class="action" href="/login">Sign in to follow</a>`;
  if (session.user.username === user.username) return html`<a class="action" href="/settings">Edit profile</a>`;
  const onChange = (following) => setUser((old) => ({
    ...old,
    followed_by_viewer: following,
    followers_count: old.followers_count + (following ? 1 : -1),
  }));
  return html`<${FollowButton} user=${user} onChange=${onChange} />`;
}

function ProfileHead({ user, setUser }) {
  return html`
    <section class="profile-head" aria-labelledby="profile-name">
      <${Avatar} user=${user} size=${96} />
      <div class="profile-who">
        <h1 id="profile-name">${user.display_name || user.username}</h1>
        <p class="handle">@${user.username}</p>
        <${Counts} user=${user} />
        <${ProfileActions} user=${user} setUser=${setUser} />
      </div>
      ${user.bio && html`<p class="bio">${user.bio}</p>`}
    </section>`;
}

/** /{username}: the person's header and their posts, newest first. Deleted posts leave
 * the grid as they go; new ones by this person join it at the top. */
export function ProfileScreen({ current }) {
  const { username } = current;
  const profile = useProfile(username);
  const posts = usePages(`${userPath(username)}/posts`, 'posts', (post) => post.post_id);
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
    }
  }, [username]);

  const { user, failure } = profile;
  if (failure && failure.status === 404) return html`<${Missing} />`;
  if (failure) {
    return html`
      <div class="problem" role="alert">
        <p>Could not load @${username}: ${failure.message}</p>
        <button type="button" onClick=${() => { profile.reload(); posts.reload(); }}>Try again</button>
      </div>`;
  }
  if (!user) return html`<p class="loading" role="status">Loading @${username}…</p>`;
  const empty = !posts.items.length && !posts.loading && !posts.error;
  return html`
    <${ProfileHead} user=${user} setUser=${profile.setUser} />
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
