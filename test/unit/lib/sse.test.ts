/** The one SSE parser (CLI and web page): the same events wherever the text is cut. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseParser } from '../../../lib/sse.js';

describe('SseParser', () => {
  it('gives the same events wherever the stream is cut; comments carry none; the space after the colon is optional', () => {
    const text = ': shiplog live tail\n\nid: c1\ndata: {"a":1}\n\nevent: error\ndata:{"message":"x"}\n\n: keep-alive\n\ndata: two\ndata: lines\n\n';
    const want = [{ event: 'message', data: '{"a":1}', id: 'c1' }, { event: 'error', data: '{"message":"x"}' }, { event: 'message', data: 'two\nlines' }];
    fc.assert(
      fc.property(fc.array(fc.nat({ max: text.length }), { maxLength: 12 }), (cuts) => {
        const at = [0, ...[...new Set(cuts)].sort((a, b) => a - b), text.length];
        const p = new SseParser();
        const got = at.slice(1).flatMap((end, i) => p.push(text.slice(at[i], end)));
        expect(got).toEqual(want);
      }),
    );
  });
});
