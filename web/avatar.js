// A person's picture, or their initial on a tinted disc when they have none.
import { html } from './html.js';

/** The avatar of `user` ({username, profile_pic}) at `size` CSS pixels; decorative
 * (alt="") because the name beside it says who it is. Sizes are set through the style
 * object (CSSOM), which the page's CSP allows where a style attribute would not be. */
export function Avatar({ user, size = 40 }) {
  const box = { width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size / 2.2)}px` };
  if (user.profile_pic) {
    return html`<img class="avatar" src=${user.profile_pic} alt="" width=${size} height=${size}
      style=${box} loading="lazy" decoding="async" />`;
  }
  return html`<span class="avatar initial" aria-hidden="true" style=${box}>${(user.username || '?')[0].toUpperCase()}</span>`;
}
