/** The test-only fault hooks exist only when their setting is on, and fire exactly as set. */
import { describe, expect, it } from 'vitest';
import { failFirstCalls, killAtCall } from '../../../lib/faults.js';

describe('fault hooks', () => {
  it('are absent when their setting is 0, so the data path runs no fault code', () => {
    expect(killAtCall(0)).toBeUndefined();
    expect(failFirstCalls(0, () => new Error('x'))).toBeUndefined();
  });

  it('throw at the first n calls only', () => {
    const hook = failFirstCalls(2, () => new Error('on purpose')) as () => void;
    expect(hook).toThrow('on purpose');
    expect(hook).toThrow('on purpose');
    expect(hook).not.toThrow();
  });
});
