// Closing a disclosure (a panel or a short list a button opens) the way people expect:
// Escape or a press outside it closes it, and Escape gives focus back to its button.
import { useEffect } from './html.js';

/** While `open`, focus `focusFirst()`'s element (if any), and close with `setOpen(false)`
 * on Escape (focus back to `button`) or on a press outside `box`. */
export function useDismiss(open, setOpen, box, button, focusFirst) {
  useEffect(() => {
    if (!open) return undefined;
    const first = focusFirst();
    if (first) first.focus();
    const onKey = (event) => {
      if (event.key !== 'Escape') return;
      setOpen(false);
      button.current.focus();
    };
    const onPointer = (event) => { if (!box.current.contains(event.target)) setOpen(false); };
    document.addEventListener('keydown', onKey);
    document.addEventListener('pointerdown', onPointer);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('pointerdown', onPointer);
    };
  }, [open]);
}
