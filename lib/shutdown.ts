/** Resolves with exit code 0 once SIGTERM or SIGINT arrived and `stop` finished (once). */
import type { Logger } from './logger.js';

export function untilSignal(log: Logger, what: string, stop: () => Promise<void>): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, `stopping: ${what}`);
      void stop().then(() => {
        log.info('stopped');
        log.flush();
        resolve(0);
      });
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
}
