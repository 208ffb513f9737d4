import { pino, type Logger } from 'pino';

export type { Logger };

/** One JSON logger per process; components take a child. Level from SHIPLOG_LOG_LEVEL. */
export function createLogger(name: string, level = process.env.SHIPLOG_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: false }));
}
