/** State the views share: whether the API wants a token, and (for tests and debugging) the lines in view. */
import { useEffect, useState } from 'preact/hooks';
import type { Line } from './api.js';

class Flag {
  private v = false;
  private readonly listeners = new Set<(v: boolean) => void>();
  get value(): boolean {
    return this.v;
  }
  set(v: boolean): void {
    this.v = v;
    for (const l of this.listeners) l(v);
  }
  use(): boolean {
    const [v, setV] = useState(this.v);
    useEffect(() => {
      this.listeners.add(setV);
      return () => void this.listeners.delete(setV);
    }, []);
    return v;
  }
}

/** Set when the API answered 401: the token prompt shows. */
export const needToken = new Flag();

/**
 * The lines of the list in view, readable from the browser console or a test driver as
 * `shiplogView.lines()`: the list itself renders only the rows on screen.
 */
export function exposeLines(lines: Line[]): void {
  (window as unknown as { shiplogView: object }).shiplogView = {
    count: () => lines.length,
    lines: () => lines.map((l) => l.message),
    cursors: () => lines.map((l) => l.cursor),
  };
}
