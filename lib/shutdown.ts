/**
 * Waits for SIGTERM or SIGINT, then runs `stop` once and resolves with the exit code: 0 when
 * it finished, 1 when it did not within `timeoutMs` (SHIPLOG_STOP_TIMEOUT) or a second signal
 * came first. Whatever was not finished is not lost: checkpoints and offsets move only after
 * the store committed, so the next start reads it again.
 */
import type { Logger } from './logger.js';

export function untilSignal(log: Logger, what: string, stop: () => Promise<void>, timeoutMs = 9_000): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      log.flush();
      resolve(code);
    };
    const onSignal = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        finish(1);
        return;
      }
      stopping = true;
      log.info({ signal, timeoutMs }, `stopping: ${what}`);
      const timer = setTimeout(() => {
        log.warn({ timeoutMs }, 'stop did not finish in time (SHIPLOG_STOP_TIMEOUT); exiting; what was not stored is read again on the next start');
        finish(1);
      }, timeoutMs);
      timer.unref();
      stop().then(
        () => {
          clearTimeout(timer);
          log.info('stopped');
          finish(0);
        },
        (err: unknown) => {
          clearTimeout(timer);
          log.error({ err: err instanceof Error ? err.message : String(err) }, 'stop failed');
          finish(1);
        },
      );
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
  });
}
