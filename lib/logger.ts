/**
 * One logger per process; components take a child. Level from SHIPLOG_LOG_LEVEL; format from
 * SHIPLOG_LOG_FORMAT: `json` (one JSON object a line, for collectors of logs), `text` (a line
 * a person reads: time, level, part, message, fields), or `auto` (the default): text on a
 * terminal, JSON otherwise.
 */
import { writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';

export type { Logger };

export type LogFormat = 'auto' | 'json' | 'text';

export function createLogger(name: string, level = process.env.SHIPLOG_LOG_LEVEL ?? 'info', format = (process.env.SHIPLOG_LOG_FORMAT ?? 'auto') as LogFormat): Logger {
  const text = format === 'text' || (format === 'auto' && process.stderr.isTTY === true);
  if (!text) return pino({ name, level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: false }));
  return pino({ name, level, base: undefined }, { write: (line: string) => writeSync(2, humanLine(line, process.stderr.isTTY === true && !process.env.NO_COLOR)) });
}

const LEVELS: Record<number, [string, number]> = { 10: ['TRACE', 90], 20: ['DEBUG', 90], 30: ['INFO ', 32], 40: ['WARN ', 33], 50: ['ERROR', 31], 60: ['FATAL', 35] };
const OMIT = new Set(['level', 'time', 'msg', 'name', 'part', 'pid', 'hostname']);

/** One pino JSON line as `12:00:01 INFO  store: schema migrated version=1`. */
export function humanLine(json: string, colour: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const [lvl, c] = LEVELS[o.level as number] ?? ['?    ', 0];
  const time = new Date(typeof o.time === 'number' ? o.time : Date.now()).toTimeString().slice(0, 8);
  const part = typeof o.part === 'string' ? `${o.part}: ` : '';
  const fields = Object.entries(o)
    .filter(([k, v]) => !OMIT.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  const level = colour ? `\x1b[${c}m${lvl}\x1b[0m` : lvl;
  return `${time} ${level} ${part}${String(o.msg ?? '')}${fields ? ` ${fields}` : ''}\n`;
}
