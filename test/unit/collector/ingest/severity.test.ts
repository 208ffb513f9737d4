import { describe, expect, it } from 'vitest';
import { levelFromText, levelFromValue } from '../../../../collector/ingest/severity.js';

describe('severity detection', () => {
  it.each([
    ['ERROR something broke', 'ERROR'],
    ['[warn] disk at 91%', 'WARN'],
    ['2026-11-23 16:00:00,123 INFO  main started', 'INFO'],
    ['2026-11-23T16:00:00Z DEBUG: cache miss', 'DEBUG'],
    ['time=2026 level=error msg="boom"', 'ERROR'],
    ['ts=1 lvl=Warning msg=x', 'WARN'],
    ['<fatal> out of memory', 'FATAL'],
    ['panic: runtime error', 'FATAL'],
  ])('%s → %s', (line, want) => {
    expect(levelFromText(line).text).toBe(want);
  });

  it('leaves lines without a level word unknown, even when the word appears later', () => {
    expect(levelFromText('GET /errors/info 200').number).toBe(0);
    expect(levelFromText('user clicked the error button in the settings dialog').number).toBe(0);
  });

  it('maps pino/bunyan numeric levels and names', () => {
    expect(levelFromValue(50).text).toBe('ERROR');
    expect(levelFromValue(30).number).toBe(9);
    expect(levelFromValue('CRITICAL').text).toBe('FATAL');
    expect(levelFromValue('nonsense').number).toBe(0);
  });
});
