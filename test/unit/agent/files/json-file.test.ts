/**
 * The json-file decoder (file mode's first part) on file bytes cut at random places: the same
 * entries whatever the chunks, Docker's partial entries kept as pieces (no newline) for the
 * line assembler, times in the API's form, a bad line skipped and reported, and the offset at
 * the end of the last whole line.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../../../agent/docker/decode-frames.js';
import { apiTimestamp, apiTimestampBytes } from '../../../../agent/docker/docker-time.js';
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

  it('reads times from the bytes as apiTimestamp reads the text, any fraction length or zone', () => {
    const time = fc.tuple(fc.date({ min: new Date('1970-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }), fc.stringMatching(/^(\.[0-9]{1,9})?$/), fc.constantFrom('Z', '+01:30', '-07:00', 'z', ''), fc.string({ maxLength: 3 }));
    fc.assert(
      fc.property(time, ([d, frac, zone, junk]) => {
        const t = `${d.toISOString().slice(0, 19)}${frac}${zone}`;
        for (const s of [t, `${junk}${t}`, `${t}${junk}`, t.replace('T', junk)]) {
          const b = Buffer.from(`"${s}"`);
          expect(apiTimestampBytes(b, 1, b.length - 1)).toBe(apiTimestamp(s));
        }
      }),
      { numRuns: 500 },
    );
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

  it('takes Docker-written entries without JSON.parse, byte-equal to JSON.parse, whatever the escapes', async () => {
    // Go's encoder (what dockerd writes) escapes <, >, &, U+2028/9 and controls as \u00XX and
    // writes other non-ASCII raw; JSON.stringify escapes less and writes lone surrogates as
    // \udXXX. Both, with escapes in upper and lower case, must give JSON.parse's bytes.
    const goStyle = (s: string, upper: boolean) =>
      JSON.stringify(s).replace(/[<>&\u2028\u2029]|\\u[0-9a-f]{4}/g, (m) => {
        const u = m.length === 1 ? `\\u${m.charCodeAt(0).toString(16).padStart(4, '0')}` : m;
        return upper ? u.toUpperCase().replace('\\U', '\\u') : u;
      });
    const unit = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.array(fc.constantFrom('\\', '"', '/', '<', '>', '&', '\u0000', '\u001f', '\n', '\t', '\u2028', '\ud800', '\udbff', '\udc00', 'a', ' ', 'é'), { maxLength: 20 }).map((a) => a.join('')));
    await fc.assert(
      fc.property(fc.array(fc.tuple(unit, fc.boolean(), fc.boolean(), fc.constantFrom('stdout', 'stderr')), { minLength: 1, maxLength: 10 }), (spec) => {
        const text = spec.map(([s, go, upper, stream], i) => `{"log":${go ? goStyle(s, upper) : JSON.stringify(s)},"stream":"${stream}","time":"2026-11-25T10:00:0${i}.5Z"}\n`).join('');
        const d = new JsonFileDecoder();
        const got: Buffer[] = [];
        const json: (string | undefined)[] = [];
        d.push(
          Buffer.from(text),
          (e) => {
            got.push(Buffer.from(e.content));
            json.push(e.json?.toString('utf8'));
          },
          (l, why) => expect.fail(`${why}: ${l}`),
        );
        expect(d.unparsed).toBe(spec.length);
        expect(got.map((b) => b.toString('hex'))).toEqual(spec.map(([s]) => Buffer.from(s, 'utf8').toString('hex')));
        // Docker's escaping, passed on for the shipper to copy: the same bytes once parsed, less
        // a closing newline; left out only where UTF-8 cannot say what it says (a surrogate escape).
        for (const [i, [s]] of spec.entries()) {
          const j = json[i];
          const escaped = JSON.stringify(s);
          if (j === undefined) expect(/\\u[dD][89a-fA-F]/.test(text.split('\n')[i] as string) || (s.endsWith('\n') && !escaped.endsWith('\\n"')), `${escaped}`).toBe(true);
          else expect(Buffer.from(JSON.parse(`"${j}"`) as string).toString('hex')).toBe(Buffer.from(s.endsWith('\n') ? s.slice(0, -1) : s).toString('hex'));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('leaves other layouts to JSON.parse (attrs, reordered keys, a bare quote, a bad escape) and writes nothing into them first', () => {
    const lines = [
      '{"log":"a\\"b\\n","stream":"stdout","attrs":{"k":"v"},"time":"2026-11-25T10:00:00Z"}',
      '{"stream":"stdout","log":"x\\n","time":"2026-11-25T10:00:00Z"}',
      '{"log":"a","x":"\\n","stream":"stdout","time":"2026-11-25T10:00:00Z"}',
      '{"log":"bad \\q escape\\n","stream":"stdout","time":"2026-11-25T10:00:00Z"}',
      '{"log":"ends in a backslash \\\\","stream":"stderr","time":"2026-11-25T10:00:00.000000001+00:00"}',
    ];
    const d = new JsonFileDecoder();
    const got: string[] = [];
    const bad: string[] = [];
    d.push(Buffer.from(`${lines.join('\n')}\n`), (e) => got.push(e.content.toString()), (l) => bad.push(l));
    // The third has a bare quote inside what the fast path would take as the text: JSON.parse's "a".
    expect(got).toEqual(['a"b\n', 'x\n', 'a', 'ends in a backslash \\']);
    // The bad one is reported as it was in the file: nothing was unescaped into it first.
    expect(bad).toEqual([lines[3]]);
    // Only the last is Docker's layout (its escaped backslash right before the closing quote).
    expect(d.unparsed).toBe(1);
  });

  it('skips and reports a line that is not an entry, keeps the rest, and holds an unfinished last line', () => {
    const r = decode([Buffer.from(`${line('one\n', 'stdout', '2026-11-25T10:00:00Z')}{"torn":\nnot json at all\n${JSON.stringify({ log: 'x', stream: 'stdin', time: '2026-11-25T10:00:00Z' })}\n${line('two\n', 'stderr', '2026-11-25T10:00:01Z')}{"log":"half`)]);
    expect(r.entries.map((e) => e.content)).toEqual(['one\n', 'two\n']);
    expect(r.bad).toHaveLength(3);
    expect(r.pending).toBe('{"log":"half'.length);
  });
});
