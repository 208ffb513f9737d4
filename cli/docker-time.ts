/**
 * `--since` / `--until` as `docker logs` reads them, turned into what the query API takes
 * (an RFC 3339 time with a zone, or a duration before now):
 * - Unix seconds, with an optional fraction: `1732557000`, `1732557000.5`
 * - a Go duration before now: `42m`, `1h30m`, `1.5h`, `2h45m10s`, `500ms` (and `7d`, which the API also takes)
 * - a date or a time, in local time unless it names a zone: `2026-11-25`, `2026-11-25T13:23`,
 *   `2026-11-25T13:23:37`, `2026-11-25 13:23:37.5`, `2026-11-25T13:23:37Z`, `…+01:00`
 */

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A Go duration (units ns…h, plus d) in milliseconds, or undefined when v is not one. */
export function goDurationMs(v: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d))+$/.test(v)) return undefined;
  let ms = 0;
  for (const [, n, , unit] of v.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)) ms += Number(n) * (UNIT_MS[unit as string] as number);
  return ms;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** A local wall-clock time to RFC 3339 with this machine's offset at that time, as docker reads a zone-less time. */
function localRfc3339(year: number, month: number, day: number, h: number, mi: number, s: number, frac: string): string | undefined {
  const d = new Date(year, month - 1, day, h, mi, s);
  // Date rolls 2026-02-30 over into March: such a day does not exist.
  if (d.getFullYear() !== year || d.getMonth() !== month - 1 || d.getDate() !== day || d.getHours() !== h || d.getMinutes() !== mi) return undefined;
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(h)}:${pad(mi)}:${pad(s)}${frac ? `.${frac}` : ''}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The API's form of a docker-style time, or an Error saying what is accepted. */
export function dockerTime(flag: string, v: string): string | Error {
  const bad = () =>
    new Error(`${flag} "${v.slice(0, 64)}": give Unix seconds (1732557000), a duration before now (42m, 1h30m) or a date/time (2026-11-25, 2026-11-25T13:23:37, local unless it ends in Z or +01:00)`);
  if (/^\d{1,12}(\.\d{1,9})?$/.test(v)) {
    const [secs, frac = ''] = v.split('.') as [string, string?];
    const iso = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
    return `${iso}${frac ? `.${frac}` : ''}Z`;
  }
  const ms = goDurationMs(v);
  if (ms !== undefined) return `${Math.round(ms)}ms`;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/.exec(v);
  if (!m) return bad();
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [h, mi, s] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const frac = m[7] ?? '';
  if (m[8]) {
    // A zone is named: the API checks the calendar; give it the full form.
    return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(h)}:${pad(mi)}:${pad(s)}${frac ? `.${frac}` : ''}${m[8].toUpperCase()}`;
  }
  if (h > 23 || mi > 59 || s > 59) return bad();
  return localRfc3339(year, month, day, h, mi, s, frac) ?? bad();
}
