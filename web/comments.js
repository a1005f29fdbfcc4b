// A post's comments: oldest first, paged with "Load more"; a form to add one (the text is
// kept when sending fails); deleting one's own comments, and any comment on one's own post.
import { api } from './api.js';
import { Avatar } from './avatar.js';
import { RichText, Time } from './format.js';
import { html, useEffect, useRef, useState } from './html.js';

const PAGE_SIZE = 20;
const MAX_CHARS = 2200; // server/comments.py MAX_COMMENT_CHARS

function CommentForm({ postId, onAdded }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const errorId = `comment-error-${postId}`;
  const onSubmit = async (event) => {
    event.preventDefault();
    if (busy || !text.trim()) return;
    setBusy(true);
    setError(null);
    try {
      onAdded(await api('POST', `/api/posts/${postId}/comments`, { text }));
      setText('');
    } catch (failure) {
      setError(`Could not post the comment: ${failure.message}`);
    }
    setBusy(false);
  };
  return html`
    <form class="comment-form" onSubmit=${onSubmit}>
      <textarea aria-label="Add a comment" placeholder="Add a comment…" rows="1" maxlength=${MAX_CHARS}
        value=${text} readOnly=${busy} onInput=${(event) => setText(event.currentTarget.value)}
        aria-invalid=${error ? 'true' : undefined} aria-describedby=${errorId}></textarea>
      <button type="submit" disabled=${busy || !text.trim()}>${busy ? 'Posting…' : 'Post'}</button>
      <p class="error" id=${errorId} role="alert">${error}</p>
    </form>`;
}

function CommentItem({ comment, canDelete, onDelete }) {
  const { author } = comment;
  return html`
    <li class="comment">
      <${Avatar} user=${author} size=${24} />
      <div>
        <p class="comment-text"><a class="name" href=${`/${author.username}`}>${author.username}</a>${' '}
          <${RichText} text=${comment.text} /></p>
        <p class="comment-meta"><${Time} iso=${comment.created_at} />
          ${canDelete && html`<button type="button" class="link-button" onClick=${() => onDelete(comment)}
            aria-label=${`Delete comment by ${author.username}`}>Delete</button>`}</p>
      </div>
    </li>`;
}

/** The comments of `post` (a region with DOM id `id`), for `viewer` (null: read only).
 * Calls `onCount(+1)` or `onCount(-1)` when the viewer adds or deletes one. */
export function Comments({ id, post, viewer, onCount }) {
  const [list, setList] = useState({ items: [], cursor: null, status: 'loading', error: null });
  const [added, setAdded] = useState([]); // written here, not (yet) in a loaded page
  const [problem, setProblem] = useState(null);
  const deleting = useRef(new Set());
  const listRef = useRef(null);
  const postId = post.post_id;

  const load = async (cursor) => {
    setList((l) => ({ ...l, status: 'loading', error: null }));
    const query = new URLSearchParams({ limit: PAGE_SIZE });
    if (cursor) query.set('cursor', cursor);
    try {
      const page = await api('GET', `/api/posts/${postId}/comments?${query}`);
      setList((l) => {
        const have = new Set(l.items.map((c) => c.comment_id));
        const items = [...l.items, ...page.comments.filter((c) => !have.has(c.comment_id))];
        return { items, cursor: page.next_cursor, status: 'ready', error: null };
      });
    } catch (failure) {
      setList((l) => ({ ...l, status: 'error', error: `Could not load the comments: ${failure.message}` }));
    }
  };
  useEffect(() => { load(null); }, [postId]);
  const loadMore = async () => {
    if (list.status === 'loading') return;
    await load(list.cursor);
    // After the last page the pressed button is gone: keep focus in the comments.
    if (document.activeElement === document.body) listRef.current.focus();
  };

  const onAdded = (comment) => {
    setAdded((a) => [...a, comment]);
    onCount(1);
  };
  const onDelete = async (comment) => {
    if (deleting.current.has(comment.comment_id)) return;
    deleting.current.add(comment.comment_id);
    setProblem(null);
    try {
      await api('DELETE', `/api/comments/${comment.comment_id}`);
    } catch (failure) {
      deleting.current.delete(comment.comment_id);
      if (failure.status !== 404) { // a 404: it is gone already, as wanted
        setProblem(`Could not delete the comment: ${failure.message}`);
        return;
      }
    }
    const other = (c) => c.comment_id !== comment.comment_id;
    setList((l) => ({ ...l, items: l.items.filter(other) }));
    setAdded((a) => a.filter(other));
    onCount(-1);
    listRef.current.focus(); // the pressed button is gone: focus stays in the comments
  };

  const loaded = new Set(list.items.map((c) => c.comment_id));
  const shown = [...list.items, ...added.filter((c) => !loaded.has(c.comment_id))];
  const mayDelete = (c) => viewer && (viewer.user_id === c.author.user_id || viewer.user_id === post.author.user_id);
  return html`
    <div class="comments" id=${id}>
      <ul class="comment-list" ref=${listRef} tabindex="-1" aria-label="Comments"
        aria-busy=${list.status === 'loading' ? 'true' : 'false'}>
        ${shown.map((c) => html`
          <${CommentItem} key=${c.comment_id} comment=${c} canDelete=${mayDelete(c)} onDelete=${onDelete} />`)}
      </ul>
      ${list.status === 'loading' && !list.cursor && html`<p class="hint">Loading comments…</p>`}
      ${list.status === 'ready' && !shown.length && html`<p class="hint">No comments yet.</p>`}
      ${list.status === 'error' && html`<button type="button" class="quiet" onClick=${() => load(list.cursor)}>
        Try again</button>`}
      ${list.status !== 'error' && list.cursor && html`
        <button type="button" class="quiet" onClick=${loadMore} aria-disabled=${list.status === 'loading' ? 'true' : undefined}>
          ${list.status === 'loading' ? 'Loading…' : 'Load more comments'}</button>`}
      <p class="error" role="alert">${list.error || problem}</p>
      ${viewer && html`<${CommentForm} postId=${postId} onAdded=${onAdded} />`}
    </div>`;
}
