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

const NINE_ZEROS = '000000000';

/**
 * apiTimestamp of raw[start, end), read straight from the bytes for the form json-file writes
 * (UTC: `2026-11-25T10:00:00.123456789Z`, 0-9 fraction digits): one string, no regular
 * expression. Any other form goes through apiTimestamp.
 */
export function apiTimestampBytes(raw: Buffer, start: number, end: number): string | undefined {
  const n = end - start;
  if (n >= 20 && n <= 30 && raw[end - 1] === 0x5a && shapeOk(raw, start) && (n === 20 || (raw[start + 19] === 0x2e && n > 21 && digits(raw, start + 20, end - 1)))) {
    if (n === 30) return raw.toString('latin1', start, end);
    const head = raw.toString('latin1', start, end - 1);
    return n === 20 ? `${head}.${NINE_ZEROS}Z` : `${head}${NINE_ZEROS.slice(n - 21)}Z`;
  }
  return apiTimestamp(raw.toString('latin1', start, end));
}

/** `dddd-dd-ddTdd:dd:dd` at raw[at]. */
function shapeOk(raw: Buffer, at: number): boolean {
  return (
    digits(raw, at, at + 4) && raw[at + 4] === 0x2d && digits(raw, at + 5, at + 7) && raw[at + 7] === 0x2d && digits(raw, at + 8, at + 10) &&
    raw[at + 10] === 0x54 && digits(raw, at + 11, at + 13) && raw[at + 13] === 0x3a && digits(raw, at + 14, at + 16) && raw[at + 16] === 0x3a &&
    digits(raw, at + 17, at + 19)
  );
}

function digits(raw: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = raw[i] as number;
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
