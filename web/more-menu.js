// The "…" button and the short list of actions it opens (a disclosure, not an ARIA menu:
// the actions are ordinary buttons reached with Tab). Escape or a click elsewhere closes
// it; Escape gives focus back to the button.
import { useDismiss } from './dismiss.js';
import { html, useRef, useState } from './html.js';

let counter = 0;

/** "…" named `label` (say "More for @ann"), opening `items`: `[{label, onSelect, danger?}]`.
 * Choosing one closes the list first, then calls its `onSelect()`. */
export function MoreMenu({ label, items }) {
  const [open, setOpen] = useState(false);
  const [id] = useState(() => `more-${(counter += 1)}`);
  const box = useRef(null);
  const button = useRef(null);
  useDismiss(open, setOpen, box, button, () => box.current.querySelector('ul button'));
  const choose = (item) => {
    setOpen(false);
    button.current.focus();
    item.onSelect();
  };
  return html`
    <div class="more-menu" ref=${box}>
      <button type="button" class="more-button" ref=${button} aria-label=${label}
        aria-expanded=${open ? 'true' : 'false'} aria-controls=${id} onClick=${() => setOpen(!open)}>…</button>
      <ul id=${id} hidden=${!open}>
        ${items.map((item) => html`
          <li key=${item.label}>
            <button type="button" class=${item.danger ? 'quiet danger' : 'quiet'} onClick=${() => choose(item)}>
              ${item.label}</button>
          </li>`)}
      </ul>
    </div>`;
}
