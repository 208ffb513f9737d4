/**
 * The json-file decoder (file mode's first part) on file bytes cut at random places: the same
 * entries whatever the chunks, Docker's partial entries kept as pieces (no newline) for the
 * line assembler, times in the API's form, a bad line skipped and reported, and the offset at
 * the end of the last whole line.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../../../agent/docker/decode-frames.js';
import { apiTimestamp } from '../../../../agent/docker/docker-time.js';
import { JsonFileDecoder } from '../../../../agent/files/json-file.js';
import { cutAt } from '../../../helpers/cut-bytes.js';

const line = (log: string, stream: string, time: string) => `${JSON.stringify({ log, stream, time })}\n`;

function decode(chunks: Buffer[]) {
  const d = new JsonFileDecoder();
  const entries: { stream: number; ts: string; content: string }[] = [];
  const bad: string[] = [];
  for (const c of chunks) d.push(c, (e: LogEntry) => entries.push({ stream: e.stream, ts: e.ts, content: e.content.toString('utf8') }), (l, why) => bad.push(`${why}: ${l}`));
  return { entries, bad, offset: d.offset, pending: d.pending };
}

describe('json-file decoder', () => {
  it('writes times as the API does: UTC, nine fraction digits', () => {
    expect(apiTimestamp('2026-11-25T10:00:00.123456789Z')).toBe('2026-11-25T10:00:00.123456789Z');
    expect(apiTimestamp('2026-11-25T10:00:00.5Z')).toBe('2026-11-25T10:00:00.500000000Z');
    expect(apiTimestamp('2026-11-25T10:00:00Z')).toBe('2026-11-25T10:00:00.000000000Z');
    expect(apiTimestamp('2026-11-25T11:30:00.25+01:30')).toBe('2026-11-25T10:00:00.250000000Z');
    expect(apiTimestamp('2026-11-25 10:00:00Z')).toBeUndefined();
  });

  it('gives the same entries wherever the file is cut, with partials, stderr, quotes, backslashes and NUL', async () => {
    await fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.constantFrom('stdout', 'stderr'), fc.boolean()), { minLength: 1, maxLength: 15 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 }),
        (spec, at) => {
          const text = spec.map(([s, stream, partial], i) => line(partial ? s : `${s}\n`, stream, `2026-11-25T10:00:00.${String(i + 1).padStart(3, '0')}Z`)).join('');
          const all = Buffer.from(text);
          const r = decode(cutAt(all, at, { keepEmpty: true }));
          expect(r.bad).toEqual([]);
          expect(r.offset).toBe(all.length);
          expect(r.pending).toBe(0);
          expect(r.entries).toEqual(spec.map(([s, stream, partial], i) => ({ stream: stream === 'stderr' ? 2 : 1, ts: `2026-11-25T10:00:00.${String(i + 1).padStart(3, '0')}000000Z`, content: partial ? s : `${s}\n` })));
        },
      ),
      { numRuns: 200 },
    );
    const tricky = decode([Buffer.from(line('a "quote" \\ back\u0000slash\n', 'stdout', '2026-11-25T10:00:00Z'))]);
    expect(tricky.entries[0]?.content).toBe('a "quote" \\ back\u0000slash\n');
  });

  it('skips and reports a line that is not an entry, keeps the rest, and holds an unfinished last line', () => {
    const r = decode([Buffer.from(`${line('one\n', 'stdout', '2026-11-25T10:00:00Z')}{"torn":\nnot json at all\n${JSON.stringify({ log: 'x', stream: 'stdin', time: '2026-11-25T10:00:00Z' })}\n${line('two\n', 'stderr', '2026-11-25T10:00:01Z')}{"log":"half`)]);
    expect(r.entries.map((e) => e.content)).toEqual(['one\n', 'two\n']);
    expect(r.bad).toHaveLength(3);
    expect(r.pending).toBe('{"log":"half'.length);
  });
});
