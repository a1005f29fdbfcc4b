// The home feed (signed in): the viewer's and followed people's posts, newest first, paged
// by scrolling or "Load more". Live: others' new posts wait behind an "N new posts" button,
// the viewer's own go straight to the top, deleted posts leave in place, and a resync
// fetches the first page again. No post is ever shown twice.
import { api } from '../api.js';
import { html, useEffect, useRef, useState } from '../html.js';
import { useLive } from '../live.js';
import { afterNotification, cardId, PostCard } from '../post-card.js';
import { token, useSession } from '../session.js';

const PAGE_SIZE = 10;
const FIRST_PAGE = `/api/feed?limit=${PAGE_SIZE}`;

// Opened on `/` with a stored token, the app asks for the first page as this module loads,
// beside the session check instead of after it: the first photos come a round trip sooner.
// A revoked token gets the 401 that ends the session, as the session check would.
let early = token() && location.pathname === '/' ? api('GET', FIRST_PAGE) : null;
if (early) early.catch(() => {}); // the screen reports a failure when it takes the answer
// Fetch the next page while the reader is still this far above the end of the list.
const AHEAD = '0px 0px 1200px 0px';

function without(posts, ids) {
  return posts.filter((p) => !ids.has(p.post_id));
}

/** `feed` with `page` as its first page. On a refetch the posts older than the page that
 * were already loaded stay (ids are time-ordered), and so does the cursor past them. */
function withFirstPage(feed, page) {
  const fresh = page.posts;
  const ids = new Set(fresh.map((p) => p.post_id));
  const oldest = fresh.length ? BigInt(fresh[fresh.length - 1].post_id) : null;
  const older = oldest === null ? [] : without(feed.posts, ids).filter((p) => BigInt(p.post_id) < oldest);
  return { ...feed, posts: [...fresh, ...older], pending: without(feed.pending, ids),
    cursor: older.length ? feed.cursor : page.next_cursor, status: 'ready', error: null };
}

function withNextPage(feed, page) {
  const have = new Set(feed.posts.map((p) => p.post_id));
  return { ...feed, posts: [...feed.posts, ...page.posts.filter((p) => !have.has(p.post_id))],
    cursor: page.next_cursor, status: 'ready', error: null };
}

/** `feed` once a live `post` arrived: the viewer's own goes to the top, others' wait. */
function withArrival(feed, post, viewerId) {
  const known = (p) => p.post_id === post.post_id;
  if (feed.posts.some(known) || feed.pending.some(known)) return feed;
  if (post.author.user_id === viewerId) return { ...feed, posts: [post, ...feed.posts] };
  return { ...feed, pending: [post, ...feed.pending] };
}

export function HomeScreen() {
  const { user } = useSession(); // null while a stored token is being confirmed
  const viewerId = user && user.user_id;
  const [feed, setFeed] = useState({ posts: [], pending: [], cursor: null, status: 'loading', error: null });
  const latest = useRef(feed);
  latest.current = feed;
  const loading = useRef(false);
  const refetch = useRef(false); // a resync came while a page was loading
  const end = useRef(null);
  const focusNext = useRef(null); // [post id, preventScroll] to focus once rendered

  /** Fetches the first page (again), or with `more` the page after the loaded ones. */
  const load = async (more) => {
    if (loading.current) {
      if (!more) refetch.current = true;
      return;
    }
    loading.current = true;
    setFeed((f) => ({ ...f, status: more ? 'more' : 'loading', error: null }));
    const request = more
      ? api('GET', `${FIRST_PAGE}&cursor=${encodeURIComponent(latest.current.cursor)}`)
      : early || api('GET', FIRST_PAGE);
    early = null;
    try {
      const page = await request;
      setFeed((f) => (more ? withNextPage(f, page) : withFirstPage(f, page)));
    } catch (failure) {
      setFeed((f) => ({ ...f, status: 'error', error: failure.message, retryMore: more }));
    } finally {
      loading.current = false;
    }
    if (refetch.current) {
      refetch.current = false;
      load(false);
    }
  };
  useEffect(() => { load(false); }, []);

  useLive((event) => {
    if (event.t === 'feed.insert') {
      setFeed((f) => withArrival(f, event.post, viewerId));
    } else if (event.t === 'post.deleted') {
      const gone = new Set([event.post_id]);
      setFeed((f) => ({ ...f, posts: without(f.posts, gone), pending: without(f.pending, gone) }));
    } else if (event.t === 'notification' && event.post_id) {
      setFeed((f) => ({ ...f, posts: f.posts.map((p) => afterNotification(p, event)) }));
    } else if (event.t === 'resync') {
      load(false);
    }
  }, [viewerId]);

  // Scrolling near the end fetches the next page; a new observer per page reports at once
  // when the end is still in reach (a short page).
  useEffect(() => {
    if (feed.status !== 'ready' || !feed.cursor || !end.current) return undefined;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) load(true);
    }, { rootMargin: AHEAD });
    observer.observe(end.current);
    return () => observer.disconnect();
  }, [feed.status, feed.cursor]);

  useEffect(() => {
    if (!focusNext.current) return;
    const [postId, preventScroll] = focusNext.current;
    focusNext.current = null;
    const card = document.getElementById(cardId(postId));
    if (card) card.focus({ preventScroll });
  }, [feed.posts]);

  const showPending = () => {
    // Scroll anchoring keeps a reader down the page where they were; one at the top sees
    // the new posts. Either way focus goes to the newest, which the button stood for.
    focusNext.current = [feed.pending[0].post_id, scrollY > 100];
    setFeed((f) => ({ ...f, posts: [...f.pending, ...without(f.posts, new Set(f.pending.map((p) => p.post_id)))],
      pending: [] }));
  };
  const update = (postId, change) => setFeed((f) => ({
    ...f, posts: f.posts.map((p) => (p.post_id === postId ? change(p) : p)) }));
  const removed = (postId) => {
    const { posts } = latest.current;
    const index = posts.findIndex((p) => p.post_id === postId);
    const next = posts[index + 1] || posts[index - 1];
    if (next) focusNext.current = [next.post_id, false];
    setFeed((f) => ({ ...f, posts: without(f.posts, new Set([postId])) }));
  };

  const count = feed.pending.length;
  return html`
    <h1 class="visually-hidden">Home</h1>
    <div class="new-posts" aria-live="polite">
      ${count > 0 && html`<button type="button" onClick=${showPending}>
        ${count === 1 ? '1 new post' : `${count} new posts`}</button>`}
    </div>
    <div class="feed" aria-busy=${feed.status === 'loading' ? 'true' : 'false'}>
      ${feed.posts.map((post, index) => html`
        <${PostCard} key=${post.post_id} post=${post} viewer=${user} eager=${index === 0}
          onUpdate=${(change) => update(post.post_id, change)} onDeleted=${() => removed(post.post_id)} />`)}
    </div>
    <div class="feed-end" ref=${end}>
      ${feed.status === 'loading' && html`<p class="hint">Loading your feed…</p>`}
      ${feed.status === 'error' && html`
        <p class="error" role="alert">Could not load the feed: ${feed.error}</p>
        <button type="button" onClick=${() => load(feed.retryMore)}>Try again</button>`}
      ${feed.status !== 'loading' && feed.status !== 'error' && feed.cursor && html`
        <button type="button" class="quiet" onClick=${() => load(true)}
          aria-disabled=${feed.status === 'more' ? 'true' : undefined}>
          ${feed.status === 'more' ? 'Loading…' : 'Load more posts'}</button>`}
      ${feed.status === 'ready' && !feed.cursor && feed.posts.length > 0 && html`
        <p class="hint">You're all caught up.</p>`}
      ${feed.status === 'ready' && !feed.posts.length && !count && html`
        <div class="empty-feed">
          <p><strong>Your feed is empty.</strong></p>
          <p>Posts from you and the people you follow show up here.${' '}
            <a href="/new">Share a photo</a>, or visit someone's profile and follow them.</p>
        </div>`}
    </div>`;
}
