// Showing server data as people read it: relative times and post text with its
// #hashtags and @mentions as links. Everything is rendered as text, never as markup.
import { html } from './html.js';

const UNITS = [[60, 's'], [60, 'min'], [24, 'h'], [7, 'd'], [Infinity, 'w']];

/** "now", "42 s", "3 min", "5 h", "2 d", "6 w" since the RFC 3339 time `iso`. */
export function relativeTime(iso, now = Date.now()) {
  let amount = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (amount < 10) return 'now';
  for (const [size, unit] of UNITS) {
    if (amount < size) return `${amount} ${unit}`;
    amount = Math.floor(amount / size);
  }
  return '';
}

/** A `<time>` showing `iso` relative to now, with the full date as its title. */
export function Time({ iso }) {
  return html`<time datetime=${iso} title=${new Date(iso).toLocaleString()}>${relativeTime(iso)}</time>`;
}

// The server's rules (server/text.py): a tag follows no word character or '#', a mention
// follows no word character, '@' or '.'.
const TOKENS = /(^|[^\p{L}\p{N}_#@.])(#[\p{L}\p{N}_]{1,100}|@[A-Za-z0-9._]{1,30})/gu;

/** `text` with its #hashtags linked to their tag pages and @mentions to profiles. */
export function RichText({ text }) {
  if (!text) return null;
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(TOKENS)) {
    const start = match.index + match[1].length;
    const token = match[2];
    if (start > at) parts.push(text.slice(at, start));
    const name = token.slice(1);
    parts.push(token[0] === '#'
      ? html`<a class="tag" href=${`/explore/tags/${encodeURIComponent(name.toLowerCase())}`}>${token}</a>`
      : html`<a class="mention" href=${`/${name.toLowerCase()}`}>${token}</a>`);
    at = start + token.length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}
