/** Docker timestamps (RFC 3339 with nanoseconds) to the `since` query form "<seconds>.<nanoseconds>". */
export function toSinceParam(ts: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(ts);
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
