// A post's media at full column width: a photo as a <picture> the browser picks the right
// size and format from, a video as a progressive MP4 with its poster frame, or a note
// while the post is processing or after it failed. The box keeps the media's shape before
// anything loads, so nothing below it moves.
import { html, useState } from './html.js';

// Cards span the viewport on phones and main's content column (40rem less padding) on
// wider screens (app.css, feed and posts).
const SIZES = '(max-width: 40rem) 100vw, 38rem';
const RUNGS = [['320', 320, 400], ['640', 640, 800], ['1080', 1080, 1350]]; // media/photos.py's boxes
const FORMATS = [['avif', 'image/avif'], ['webp', 'image/webp'], ['jpeg', 'image/jpeg']];
// Boxes are kept between 1.91:1 and 4:5 (width:height); media outside is cropped to fit.
const WIDEST = 1.91;
const TALLEST = 0.8;

/** The shape the media is shown in: its own, held between WIDEST and TALLEST. */
function boxStyle(post) {
  const ratio = post.width && post.height ? post.width / post.height : 1;
  const shown = Math.min(WIDEST, Math.max(TALLEST, ratio));
  return { aspectRatio: `${shown}` };
}

/** `srcset` for `format`: each variant with its real width (variants fit their box and are
 * never scaled up, so a small photo's larger variants are the same size and listed once). */
function srcset(post, format) {
  const seen = new Set();
  const entries = [];
  for (const [label, boxWidth, boxHeight] of RUNGS) {
    const url = post.variants[label] && post.variants[label][format];
    if (!url) continue;
    const width = post.width && post.height
      ? Math.max(1, Math.round(post.width * Math.min(1, boxWidth / post.width, boxHeight / post.height)))
      : boxWidth;
    if (seen.has(width)) continue;
    seen.add(width);
    entries.push(`${url} ${width}w`);
  }
  return entries.join(', ');
}

/** The accessible description of `post`'s media: its alt text, else who posted it. */
export function altText(post) {
  return post.alt_text || `${post.kind === 'video' ? 'Video' : 'Photo'} by ${post.author.username}`;
}

function Photo({ post, eager, onDoubleClick }) {
  const [loaded, setLoaded] = useState(false);
  const style = boxStyle(post);
  if (!loaded && post.placeholder) style.backgroundImage = `url("${post.placeholder}")`;
  const fallback = post.variants['640'] || post.variants['1080'] || {};
  return html`
    <picture class="media">
      ${FORMATS.map(([format, type]) => html`
        <source key=${format} type=${type} srcset=${srcset(post, format)} sizes=${SIZES} />`)}
      <img src=${fallback.jpeg || post.media_url} alt=${altText(post)} width=${post.width} height=${post.height}
        style=${style} loading=${eager ? 'eager' : 'lazy'} fetchpriority=${eager ? 'high' : undefined}
        decoding="async" onLoad=${() => setLoaded(true)} onDblClick=${onDoubleClick} />
    </picture>`;
}

function Video({ post }) {
  const poster = post.variants['640'] || post.variants['1080'] || {};
  const style = boxStyle(post);
  if (post.placeholder) style.backgroundImage = `url("${post.placeholder}")`;
  return html`
    <video class="media" controls playsInline preload="metadata" src=${post.mp4_url}
      poster=${poster.webp || poster.jpeg} width=${post.width} height=${post.height}
      style=${style} aria-label=${altText(post)}></video>`;
}

/** `post`'s media, or a short note when it is not ready. `eager` loads it at once and first
 * (the first post on a screen); others load as they near the viewport. Double-clicking a
 * photo calls `onDoubleClick`. */
export function PostMedia({ post, eager = false, onDoubleClick }) {
  if (post.status === 'processing') {
    return html`<p class="media-state">Processing… The post shows in feeds once it is ready.</p>`;
  }
  if (post.status === 'failed') {
    return html`<p class="media-state failed">This post could not be processed${
      post.failure_reason ? `: ${post.failure_reason}` : '.'}</p>`;
  }
  if (post.kind === 'video') {
    return post.mp4_url
      ? html`<${Video} post=${post} />`
      : html`<p class="media-state">This video cannot be played here.</p>`;
  }
  return html`<${Photo} post=${post} eager=${eager} onDoubleClick=${onDoubleClick} />`;
}
