/** RFC 3339 as Go writes it: seconds, 0-9 fraction digits (trailing zeros dropped), any zone. */
const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Docker timestamps (RFC 3339 with nanoseconds) to the `since` query form "<seconds>.<nanoseconds>". */
export function toSinceParam(ts: string): string {
  const m = RFC3339.exec(ts);
  if (!m) throw new Error(`not an RFC 3339 timestamp: ${ts}`);
  const secs = Math.floor(Date.parse(`${m[1]}${m[3]}`) / 1000);
  const frac = (m[2] ?? '').padEnd(9, '0');
  return `${secs}.${frac}`;
}

/** The earlier of two Docker timestamps (fixed-width UTC strings compare as text). */
export function minTs(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}

/**
 * A timestamp as the Engine API sends it, from the form json-file stores (Go's RFC 3339, any
 * zone): UTC, nine fraction digits. Fixed-width, so such timestamps compare as text and a cursor
 * means the same whichever way a container was read. Undefined: not RFC 3339.
 */
export function apiTimestamp(time: string): string | undefined {
  const m = RFC3339.exec(time);
  if (!m) return undefined;
  const fraction = (m[2] ?? '').padEnd(9, '0');
  if (m[3] === 'Z') return `${m[1]}.${fraction}Z`;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return `${new Date(ms).toISOString().slice(0, 19)}.${fraction}Z`;
}
