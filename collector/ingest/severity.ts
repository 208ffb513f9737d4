/**
 * Severity from the line itself: a JSON object's `level`/`severity`/`lvl` field, a logfmt
 * `level=` pair, or a level word near the start ("ERROR ...", "[warn] ...", "2026-... INFO ...").
 * Mapped to OpenTelemetry severity numbers (TRACE 1, DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21).
 */

export interface Severity {
  text: string;
  number: number;
}

export const UNKNOWN: Severity = { text: '', number: 0 };
const LEVELS: Record<string, Severity> = {};
function def(text: string, number: number, ...names: string[]): void {
  for (const n of names) LEVELS[n] = { text, number };
}
def('TRACE', 1, 'trace', 'trc', 'finest', 'finer');
def('DEBUG', 5, 'debug', 'dbg', 'fine', 'verbose');
def('INFO', 9, 'info', 'inf', 'information', 'informational', 'notice');
def('WARN', 13, 'warn', 'warning', 'wrn');
def('ERROR', 17, 'error', 'err', 'eror', 'severe');
def('FATAL', 21, 'fatal', 'ftl', 'critical', 'crit', 'panic', 'emerg', 'emergency', 'alert');

/** A level name as found in a field (case-insensitive); numbers as syslog/pino/bunyan use them. */
export function levelFromValue(v: unknown): Severity {
  if (typeof v === 'string') return LEVELS[v.trim().toLowerCase()] ?? UNKNOWN;
  if (typeof v === 'number') {
    // pino/bunyan: 10 trace .. 60 fatal
    if (v >= 10 && v <= 60 && v % 10 === 0) return [LEVELS.trace, LEVELS.debug, LEVELS.info, LEVELS.warn, LEVELS.error, LEVELS.fatal][v / 10 - 1] ?? UNKNOWN;
  }
  return UNKNOWN;
}

const LOGFMT = /(?:^|\s)(?:level|lvl|severity|loglevel)=("?)([A-Za-z]+)\1(?=\s|$)/;
const WORDS = 'TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|CRIT|PANIC|SEVERE';
// An upper-case level word among the first tokens: "ERROR x", "2026-01-01 12:00:00,1 INFO x".
const UPPER = new RegExp(`^(?:\\S+\\s+){0,3}?[[(<]?(${WORDS})[\\])>:]?(?=\\s|$)`);
// Any case, when it is marked as a level: "[warn] x", "<fatal> x", "error: x" at the start.
const MARKED = new RegExp(`^(?:\\S+\\s+){0,3}?[[(<](${WORDS})[\\])>](?=\\s|:|$)|^(${WORDS}):\\s`, 'i');

/** Level from plain text (the first 200 characters are enough). */
export function levelFromText(text: string): Severity {
  const head = text.length > 200 ? text.slice(0, 200) : text;
  const lf = LOGFMT.exec(head);
  if (lf) return levelFromValue(lf[2]);
  const u = UPPER.exec(head);
  if (u) return levelFromValue(u[1]);
  const m = MARKED.exec(head);
  if (m) return levelFromValue(m[1] ?? m[2]);
  return UNKNOWN;
}

export const JSON_LEVEL_FIELDS = ['level', 'severity', 'lvl', 'loglevel', 'log.level', 'levelname', '@l'];
