// One post's page, /p/{post_id}: its card with the comments open, kept live (likes,
// deletion, the author's own post becoming ready). Signed-out visitors see public posts;
// a post that cannot be shown (deleted, private, still processing) says so.
import { api } from '../api.js';
import { html, useEffect, useRef, useState } from '../html.js';
import { useLive } from '../live.js';
import { afterNotification, PostCard } from '../post-card.js';
import { navigate } from '../router.js';
import { useSession } from '../session.js';

export function PostScreen({ current }) {
  const { postId } = current;
  const session = useSession();
  const [state, setState] = useState({ status: 'loading', post: null, error: null });
  const shown = useRef(postId);
  shown.current = postId;

  const load = async () => {
    let next;
    try {
      next = { status: 'ready', post: await api('GET', `/api/posts/${postId}`), error: null };
    } catch (failure) {
      next = failure.status === 404 ? { status: 'missing', post: null, error: null }
        : { status: 'error', post: null, error: failure.message };
    }
    if (shown.current === postId) setState(next); // not an answer about the post shown before
  };
  useEffect(() => {
    setState({ status: 'loading', post: null, error: null });
    load();
  }, [postId]);

  useLive((event) => {
    if (event.t === 'post.deleted' && event.post_id === postId) {
      setState({ status: 'deleted', post: null, error: null });
    } else if (event.t === 'feed.insert' && event.post.post_id === postId) {
      setState((s) => (s.post ? { ...s, post: { ...event.post, liked_by_viewer: s.post.liked_by_viewer } } : s));
    } else if (event.t === 'notification') {
      setState((s) => (s.post ? { ...s, post: afterNotification(s.post, event) } : s));
    } else if (event.t === 'resync') {
      load();
    }
  }, [postId]);

  const { status, post } = state;
  if (status === 'loading' || session.status === 'checking') return html`<p class="hint">Loading the post…</p>`;
  if (status === 'missing' || status === 'deleted') {
    return html`
      <div class="post-gone">
        <h1>${status === 'deleted' ? 'This post was deleted' : "This post isn't available"}</h1>
        <p>${status === 'deleted' ? 'Its author deleted it.'
          : 'The link may be broken, or the post may have been removed or be visible only to some people.'}</p>
        ${session.status === 'signed-out' && html`<p><a href="/login">Sign in</a> to see posts shared with you.</p>`}
        <p><a href="/">Go to the home page</a></p>
      </div>`;
  }
  if (status === 'error') {
    return html`
      <p class="error" role="alert">Could not load the post: ${state.error}</p>
      <button type="button" onClick=${load}>Try again</button>`;
  }
  const update = (change) => setState((s) => (s.post ? { ...s, post: change(s.post) } : s));
  return html`
    <h1 class="visually-hidden">Post by ${post.author.username}</h1>
    <${PostCard} key=${post.post_id} post=${post} viewer=${session.user} eager commentsOpen onUpdate=${update}
      onDeleted=${() => navigate(`/${post.author.username}`)} />`;
}
