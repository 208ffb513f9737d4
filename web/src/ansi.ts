/**
 * ANSI colour codes (SGR) in a log line, turned into styled runs of text: the 8/16 colours,
 * 256 and 24-bit colours, bold, dim, italic, underline, reverse; every other escape sequence is
 * dropped. Output is runs of plain text with a style, rendered as text nodes: a line can never
 * inject markup.
 */

export interface Run {
  text: string;
  style?: string;
}

const BASIC = ['#000', '#c33', '#3a3', '#c90', '#36c', '#a3a', '#3aa', '#ccc'];
const BRIGHT = ['#666', '#f55', '#5d5', '#fd5', '#59f', '#d5d', '#5dd', '#fff'];

function color256(n: number): string {
  if (n < 8) return BASIC[n] as string;
  if (n < 16) return BRIGHT[n - 8] as string;
  if (n < 232) {
    const c = n - 16;
    const v = (x: number) => (x === 0 ? 0 : 55 + x * 40);
    return `rgb(${v(Math.floor(c / 36))},${v(Math.floor(c / 6) % 6)},${v(c % 6)})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g},${g},${g})`;
}

interface State {
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  reverse?: boolean;
}

function css(s: State): string | undefined {
  const fg = s.reverse ? s.bg ?? 'var(--bg)' : s.fg;
  const bg = s.reverse ? s.fg ?? 'var(--fg)' : s.bg;
  const parts: string[] = [];
  if (fg) parts.push(`color:${fg}`);
  if (bg) parts.push(`background:${bg}`);
  if (s.bold) parts.push('font-weight:bold');
  if (s.dim) parts.push('opacity:.7');
  if (s.italic) parts.push('font-style:italic');
  if (s.underline) parts.push('text-decoration:underline');
  return parts.length ? parts.join(';') : undefined;
}

function apply(s: State, codes: number[]): void {
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i] as number;
    if (c === 0) {
      for (const k of Object.keys(s)) delete s[k as keyof State];
    } else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 7) s.reverse = true;
    else if (c === 22) s.bold = s.dim = false;
    else if (c === 23) s.italic = false;
    else if (c === 24) s.underline = false;
    else if (c === 27) s.reverse = false;
    else if (c >= 30 && c <= 37) s.fg = BASIC[c - 30];
    else if (c === 39) delete s.fg;
    else if (c >= 40 && c <= 47) s.bg = BASIC[c - 40];
    else if (c === 49) delete s.bg;
    else if (c >= 90 && c <= 97) s.fg = BRIGHT[c - 90];
    else if (c >= 100 && c <= 107) s.bg = BRIGHT[c - 100];
    else if (c === 38 || c === 48) {
      const key = c === 38 ? 'fg' : 'bg';
      if (codes[i + 1] === 5 && codes[i + 2] !== undefined) {
        s[key] = color256((codes[i + 2] as number) & 255);
        i += 2;
      } else if (codes[i + 1] === 2 && codes[i + 4] !== undefined) {
        s[key] = `rgb(${(codes[i + 2] as number) & 255},${(codes[i + 3] as number) & 255},${(codes[i + 4] as number) & 255})`;
        i += 4;
      }
    }
  }
}

// CSI sequences (ESC [ params final), OSC (ESC ] ... BEL or ST), and other two-byte escapes.
// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b\[([0-9;:]*)([\x40-\x7e])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[\x40-\x5f]?/g;

export function hasAnsi(s: string): boolean {
  return s.includes('\x1b');
}

export function ansiRuns(s: string): Run[] {
  if (!hasAnsi(s)) return [{ text: s }];
  const runs: Run[] = [];
  const state: State = {};
  let last = 0;
  let style: string | undefined;
  for (const m of s.matchAll(ESCAPE)) {
    if (m.index > last) runs.push({ text: s.slice(last, m.index), style });
    last = m.index + m[0].length;
    if (m[2] === 'm') {
      apply(state, (m[1] || '0').split(/[;:]/).map((x) => (x === '' ? 0 : Number(x))));
      style = css(state);
    }
  }
  if (last < s.length) runs.push({ text: s.slice(last), style });
  return runs;
}

/** The text without any escape sequence (for filtering and copying). */
export function stripAnsi(s: string): string {
  return hasAnsi(s) ? s.replace(ESCAPE, '') : s;
}
