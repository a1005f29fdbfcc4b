// A square-tiled, three-column grid of posts linking to their pages: the 320 px variant
// (640 px on sharper screens) over the post's blurred placeholder until it loads.
import { html } from './html.js';

// Tiles are a third of the content column (main is at most 40rem wide): the browser
// picks the 320 variant at 1x and the 640 one on 2x screens.
const SIZES = '(max-width: 40rem) 33vw, 13.5rem';
const FORMATS = [['avif', 'image/avif'], ['webp', 'image/webp']];

function srcset(variants, format) {
  return ['320', '640']
    .filter((size) => variants[size] && variants[size][format])
    .map((size) => `${variants[size][format]} ${size}w`)
    .join(', ');
}

function Tile({ post }) {
  const label = post.status === 'processing' ? 'Processing' : post.status === 'failed' ? 'Failed' : null;
  const href = `/p/${post.post_id}`;
  if (label) {
    return html`
      <li class="tile pending">
        <a href=${href} aria-label=${`${label} post`}><span>${label}</span></a>
      </li>`;
  }
  const variants = post.variants || {};
  const small = variants['320'] || {};
  const alt = post.alt_text || `Photo by ${post.author.username}`;
  const backdrop = post.placeholder ? { backgroundImage: `url("${post.placeholder}")` } : undefined;
  return html`
    <li class="tile">
      <a href=${href} style=${backdrop}>
        <picture>
          ${FORMATS.map(([format, type]) => small[format] && html`
            <source key=${format} type=${type} srcset=${srcset(variants, format)} sizes=${SIZES} />`)}
          <img src=${small.jpeg || post.thumbnail_url} srcset=${srcset(variants, 'jpeg') || undefined}
            sizes=${SIZES} alt=${alt} loading="lazy" decoding="async" width="320" height="320" />
        </picture>
        ${post.kind === 'video' && html`<span class="video-mark" role="img" aria-label="Video">▶</span>`}
      </a>
    </li>`;
}

/** A list of tiles for `posts`, named `label` for assistive technology. Each tile links to
 * `/p/{post_id}`; `processing` and `failed` posts show their state instead of an image. */
export function PostGrid({ posts, label }) {
  return html`
    <ul class="post-grid" aria-label=${label}>
      ${posts.map((post) => html`<${Tile} key=${post.post_id} post=${post} />`)}
    </ul>`;
}
