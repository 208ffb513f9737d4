/** The text log format: one line a person reads, from pino's JSON. */
import { describe, expect, it } from 'vitest';
import { humanLine } from '../../../lib/logger.js';

describe('humanLine', () => {
  it('time, level, part, message, then the fields', () => {
    const t = new Date(2026, 10, 26, 3, 4, 5).getTime();
    expect(humanLine(JSON.stringify({ level: 30, time: t, name: 'shiplog', part: 'store', msg: 'schema migrated', version: 1, description: 'otel_logs table' }), false)).toBe(
      '03:04:05 INFO  store: schema migrated version=1 description="otel_logs table"\n',
    );
    expect(humanLine(JSON.stringify({ level: 50, time: t, msg: 'boom', err: { message: 'x' } }), false)).toBe('03:04:05 ERROR boom err={"message":"x"}\n');
    expect(humanLine(JSON.stringify({ level: 40, time: t, msg: 'w' }), true)).toBe('03:04:05 \x1b[33mWARN \x1b[0m w\n');
  });

  it('passes through what is not JSON', () => {
    expect(humanLine('not json\n', false)).toBe('not json\n');
  });
});
