// The hashtag screen, /explore/tags/{tag}: the ready posts carrying the tag, newest first,
// as a grid loaded a page at a time as the reader scrolls; deleted posts leave it.
import { html, useRef } from '../html.js';
import { useLive } from '../live.js';
import { More, usePages } from '../pages.js';
import { PostGrid } from '../post-grid.js';

/** /explore/tags/{tag}: `current.tag` is the tag as the path names it (decoded, any case). */
export function TagScreen({ current }) {
  const { tag } = current;
  const posts = usePages(`/api/tags/${encodeURIComponent(tag)}/posts`, 'posts', (post) => post.post_id);
  const shown = useRef(posts.items);
  shown.current = posts.items;

  useLive((event) => {
    if (event.t === 'resync') {
      posts.reload();
    } else if (event.t === 'post.deleted' && shown.current.some((p) => p.post_id === event.post_id)) {
      posts.setItems((old) => old.filter((p) => p.post_id !== event.post_id));
    }
  }, [tag]);

  if (posts.error && posts.error.status === 404) {
    return html`
      <h1>Not a hashtag</h1>
      <p>“${tag}” cannot be a hashtag: tags are letters, digits and _ only. <a href="/">Go to the home page</a></p>`;
  }
  const empty = !posts.items.length && !posts.loading && !posts.error;
  return html`
    <h1 class="tag-title">#${tag}</h1>
    ${empty && html`<p class="empty">No posts with #${tag} yet.</p>`}
    ${posts.items.length > 0 && html`<${PostGrid} posts=${posts.items} label=${`Posts with #${tag}`} />`}
    ${posts.loading && !posts.items.length && html`<p class="loading" role="status">Loading…</p>`}
    <${More} pages=${posts} what="posts" />`;
}
