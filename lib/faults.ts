/**
 * Test-only fault injection (the SHIPLOG_FAULT_* settings), built in each `main` and only when
 * its setting is on: the parts get an optional hook and never read the settings themselves.
 */

/** A hook that SIGKILLs this process at its nth call (the window between two durable steps). */
export function killAtCall(n: number): (() => void) | undefined {
  if (!n) return undefined;
  let calls = 0;
  return () => {
    if (++calls === n) process.kill(process.pid, 'SIGKILL');
  };
}

/** A hook that throws `make()` at its first n calls, then never again. */
export function failFirstCalls(n: number, make: () => Error): (() => void) | undefined {
  if (!n) return undefined;
  let calls = 0;
  return () => {
    if (calls < n) {
      calls++;
      throw make();
    }
  };
}
