// A value the whole tab shares and components follow: the session, the live connection's
// state, the notifications.
import { useEffect, useState } from './html.js';

/** A shared value starting at `initial`: `get()`, `set(next)` (every follower is told at
 * once) and `use()`, a hook giving the value and re-rendering the component on a change. */
export function sharedState(initial) {
  let value = initial;
  const listeners = new Set();
  return {
    get: () => value,
    set(next) {
      value = next;
      for (const listener of listeners) listener(value);
    },
    use() {
      const [now, setNow] = useState(value);
      useEffect(() => {
        listeners.add(setNow);
        setNow(value);
        return () => listeners.delete(setNow);
      }, []);
      return now;
    },
  };
}
