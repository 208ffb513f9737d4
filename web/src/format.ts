/** Small formatting helpers shared by the views. */

let utc = localStorage.getItem('shiplog.utc') === '1';

export function useUtc(): boolean {
  return utc;
}

export function setUtc(v: boolean): void {
  utc = v;
  localStorage.setItem('shiplog.utc', v ? '1' : '0');
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** "2026-11-25 14:03:07.123" in local time or UTC; the API's nanoseconds are cut to milliseconds. */
export function formatTime(rfc3339: string, withDate = true): string {
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  const ms = pad(d.getUTCMilliseconds(), 3);
  const [y, mo, da, h, mi, s] = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  const time = `${pad(h)}:${pad(mi)}:${pad(s)}.${ms}`;
  return withDate ? `${y}-${pad(mo)}-${pad(da)} ${time}` : time;
}

/** A stable colour per container name, readable on light and dark backgrounds. */
export function colourOf(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `hsl(${h % 360} 65% 50%)`;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

export function count(n: number): string {
  return n < 1000 ? String(n) : n < 1e6 ? `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k` : `${(n / 1e6).toFixed(1)}M`;
}

export function ago(rfc3339: string | undefined): string {
  if (!rfc3339) return '';
  const s = Math.max(0, (Date.now() - Date.parse(rfc3339)) / 1000);
  if (s < 60) return `${Math.round(s)}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

/** A JSON object line, parsed; undefined when the line is not one. */
export function jsonOf(message: string): Record<string, unknown> | undefined {
  const t = message.trimStart();
  if (!t.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Row text is cut here; the detail view shows the whole line. */
export const ROW_CHARS = 2000;
