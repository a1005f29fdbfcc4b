// STUB: replaced by the screen's real module.
import { html } from '../html.js';

export function ProfileScreen({ current }) {
  return html`<h1>${current.title}</h1><p data-route=${current.name}>This screen is being built.</p>`;
}

export const FollowListScreen = ProfileScreen;
