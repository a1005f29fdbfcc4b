// One post as a card: who posted it and when, its media, likes (optimistic, rolled back
// with a message on error), the caption, its comments, deleting one's own post and
// reporting someone else's (its "…" menu). The
// screen showing the card owns the post object; the card asks it for changes.
import { api } from './api.js';
import { Avatar } from './avatar.js';
import { Comments } from './comments.js';
import { RichText, Time } from './format.js';
import { html, useEffect, useRef, useState } from './html.js';
import { PostMedia } from './media.js';
import { MoreMenu } from './more-menu.js';
import { ReportDialog } from './report-dialog.js';
import { useSession } from './session.js';

/** `post` with its counts moved by a live `notification` about it (someone else liked or
 * commented on it: the only live count signal the server sends); `post` itself otherwise. */
export function afterNotification(post, event) {
  if (event.t !== 'notification' || event.post_id !== post.post_id) return post;
  if (event.kind === 'like') return { ...post, like_count: post.like_count + 1 };
  if (event.kind === 'comment') return { ...post, comment_count: post.comment_count + 1 };
  return post;
}

/** The DOM id of a post's card, for moving focus to it. */
export function cardId(postId) {
  return `post-${postId}`;
}

function plural(count, one, many) {
  return `${count.toLocaleString()} ${count === 1 ? one : many}`;
}

function commentsLabel(count) {
  if (!count) return 'Comment';
  return count === 1 ? 'View 1 comment' : `View all ${plural(count, 'comment', 'comments')}`;
}

function Heart() {
  return html`<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
    <path d="M12 21s-7.5-4.6-9.6-9.3C.9 8.2 3 4.5 6.6 4.5c2.2 0 3.9 1.3 5.4 3.2 1.5-1.9 3.2-3.2 5.4-3.2
      3.6 0 5.7 3.7 4.2 7.2C19.5 16.4 12 21 12 21z" /></svg>`;
}

/** Liking and unliking `post`: shown at once, then set from the server's answer, or
 * undone with a message when the call fails. Returns `[setLiked(liked), problem]`. */
function useLike(post, onUpdate) {
  const busy = useRef(false);
  const [problem, setProblem] = useState(null);
  const setLiked = async (liked) => {
    if (busy.current || post.liked_by_viewer === liked) return;
    busy.current = true;
    setProblem(null);
    const delta = liked ? 1 : -1;
    onUpdate((p) => ({ ...p, liked_by_viewer: liked, like_count: Math.max(0, p.like_count + delta) }));
    try {
      const answer = await api(liked ? 'POST' : 'DELETE', `/api/posts/${post.post_id}/like`);
      onUpdate((p) => ({ ...p, liked_by_viewer: answer.liked, like_count: answer.like_count }));
    } catch (failure) {
      onUpdate((p) => ({ ...p, liked_by_viewer: !liked, like_count: Math.max(0, p.like_count - delta) }));
      setProblem(`Could not ${liked ? 'like' : 'unlike'} the post: ${failure.message}`);
    } finally {
      busy.current = false;
    }
  };
  return [setLiked, problem];
}

/** "Delete post", which asks again ("Confirm delete" or "Cancel") before deleting. */
function DeletePost({ post, onDeleted, onProblem }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const cancel = useRef(null);
  const start = useRef(null);
  const wasAsking = useRef(false);
  useEffect(() => {
    // Focus follows the control that replaced the one pressed; Cancel is the safe default.
    if (asking) cancel.current.focus();
    else if (wasAsking.current && start.current) start.current.focus();
    wasAsking.current = asking;
  }, [asking]);
  const confirm = async () => {
    setBusy(true);
    onProblem(null);
    try {
      await api('DELETE', `/api/posts/${post.post_id}`);
      onDeleted();
    } catch (failure) {
      setBusy(false);
      onProblem(`Could not delete the post: ${failure.message}`);
    }
  };
  if (!asking) {
    return html`<button type="button" class="quiet danger" ref=${start} onClick=${() => setAsking(true)}>
      Delete post</button>`;
  }
  return html`
    <span class="confirm" role="group" aria-label="Delete this post?">
      <button type="button" class="danger" onClick=${confirm} disabled=${busy}>
        ${busy ? 'Deleting…' : 'Confirm delete'}</button>
      <button type="button" class="quiet" ref=${cancel} onClick=${() => setAsking(false)} disabled=${busy}>
        Cancel</button>
    </span>`;
}

/** A post card. `viewer` is the signed-in user (null when signed out or not yet known); `onUpdate(fn)`
 * asks the owner to replace the post with `fn(post)`; `onDeleted()` is called once the
 * viewer deleted it. `eager` loads its media first; `commentsOpen` shows the comments
 * from the start (the post page), else a control opens them. */
export function PostCard({ post, viewer, onUpdate, onDeleted, eager = false, commentsOpen = false }) {
  const [setLiked, likeProblem] = useLike(post, onUpdate);
  const [problem, setProblem] = useState(null);
  const [showComments, setShowComments] = useState(commentsOpen);
  const [reporting, setReporting] = useState(false);
  const { status } = useSession();
  const { author } = post;
  const own = viewer && viewer.user_id === author.user_id;
  const ready = post.status === 'ready';
  const commentsId = `comments-${post.post_id}`;
  const onCommentCount = (delta) => onUpdate((p) => ({ ...p, comment_count: Math.max(0, p.comment_count + delta) }));
  return html`
    <article class="post-card" id=${cardId(post.post_id)} tabindex="-1" aria-label=${`Post by ${author.username}`}>
      <header class="post-head">
        <a class="author" href=${`/${author.username}`}>
          <${Avatar} user=${author} size=${32} /><span class="name">${author.username}</span>
        </a>
        ${post.location && html`<span class="location">${post.location}</span>`}
        <a class="when" href=${`/p/${post.post_id}`}><${Time} iso=${post.created_at} /></a>
      </header>
      <${PostMedia} post=${post} eager=${eager} onDoubleClick=${viewer ? () => setLiked(true) : undefined} />
      <div class="post-actions">
        ${viewer && ready && html`
          <button type="button" class="like" aria-pressed=${post.liked_by_viewer ? 'true' : 'false'}
            aria-label="Like" onClick=${() => setLiked(!post.liked_by_viewer)}><${Heart} /></button>`}
        ${ready && html`<span class="likes">${plural(post.like_count, 'like', 'likes')}</span>`}
        ${own && html`<${DeletePost} post=${post} onDeleted=${onDeleted} onProblem=${setProblem} />`}
        ${viewer && !own && html`<${MoreMenu} label=${`More for the post by ${author.username}`}
          items=${[{ label: 'Report', danger: true, onSelect: () => setReporting(true) }]} />`}
      </div>
      <p class="error" role="alert">${likeProblem || problem}</p>
      <div class="post-body">
        ${post.caption && html`
          <p class="caption"><a class="name" href=${`/${author.username}`}>${author.username}</a>${' '}
            <${RichText} text=${post.caption} /></p>`}
        ${ready && !commentsOpen && html`
          <button type="button" class="link-button" aria-expanded=${showComments ? 'true' : 'false'}
            aria-controls=${commentsId} onClick=${() => setShowComments(!showComments)}>
            ${showComments ? 'Hide comments' : commentsLabel(post.comment_count)}
          </button>`}
        ${ready && showComments && html`
          <${Comments} id=${commentsId} post=${post} viewer=${viewer} onCount=${onCommentCount} />`}
        ${status === 'signed-out' && html`<p class="hint"><a href="/login">Sign in</a> to like or comment.</p>`}
      </div>
      ${reporting && html`<${ReportDialog} target="post" id=${post.post_id} onClose=${() => setReporting(false)} />`}
    </article>`;
}
