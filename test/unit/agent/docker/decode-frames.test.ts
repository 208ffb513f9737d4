import { describe, expect, it } from 'vitest';
import { DOCKER_PARTIAL_SIZE, MultiplexedDecoder, RawDecoder, STDERR, STDOUT, type LogEntry } from '../../../../agent/docker/decode-frames.js';
import { DockerStreamError } from '../../../../lib/errors.js';

const TS1 = '2026-11-23T16:07:27.335331192Z';
const TS2 = '2026-11-23T16:07:27.335394667Z';

function frame(stream: number, payload: Buffer | string): Buffer {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(p.length, 4);
  return Buffer.concat([h, p]);
}

function collect(push: (sink: (e: LogEntry) => void) => void): { stream: number; ts: string; content: string }[] {
  const out: { stream: number; ts: string; content: string }[] = [];
  push((e) => out.push({ stream: e.stream, ts: e.ts, content: e.content.toString('latin1') }));
  return out;
}

describe('MultiplexedDecoder', () => {
  const wire = Buffer.concat([
    frame(1, `${TS1} hello\n`),
    frame(2, `${TS1} oops\n`),
    frame(1, `${TS2} \n`),
    frame(1, Buffer.concat([Buffer.from(`${TS2} `), Buffer.from([0xff, 0x00, 0x0d, 0x0a])])),
  ]);
  const want = [
    { stream: STDOUT, ts: TS1, content: 'hello\n' },
    { stream: STDERR, ts: TS1, content: 'oops\n' },
    { stream: STDOUT, ts: TS2, content: '\n' },
    { stream: STDOUT, ts: TS2, content: '\xff\x00\r\n' },
  ];

  it('decodes frames delivered in one chunk', () => {
    const d = new MultiplexedDecoder();
    expect(collect((sink) => d.push(wire, sink))).toEqual(want);
    expect(d.truncated).toBe(false);
  });

  it('decodes the same frames cut at every possible byte boundary', () => {
    for (let cut = 1; cut < wire.length; cut++) {
      const d = new MultiplexedDecoder();
      const got = collect((sink) => {
        d.push(wire.subarray(0, cut), sink);
        d.push(wire.subarray(cut), sink);
      });
      expect(got, `cut at ${cut}`).toEqual(want);
    }
  });

  it('decodes byte by byte', () => {
    const d = new MultiplexedDecoder();
    const got = collect((sink) => {
      for (let i = 0; i < wire.length; i++) d.push(wire.subarray(i, i + 1), sink);
    });
    expect(got).toEqual(want);
  });

  it('reports a stream that ended inside a frame', () => {
    const d = new MultiplexedDecoder();
    d.push(wire.subarray(0, wire.length - 2), () => undefined);
    expect(d.truncated).toBe(true);
  });

  it('throws a typed error for a bad stream byte or a missing timestamp', () => {
    expect(() => new MultiplexedDecoder().push(frame(7, `${TS1} x\n`), () => undefined)).toThrow(DockerStreamError);
    expect(() => new MultiplexedDecoder().push(frame(1, 'x'.repeat(60)), () => undefined)).toThrow(DockerStreamError);
  });
});

describe('RawDecoder (TTY)', () => {
  it('splits entries at newlines and keeps \\r\\n', () => {
    const d = new RawDecoder();
    const got = collect((sink) => d.push(Buffer.from(`${TS1} one\r\n${TS2} two\r\n`), sink));
    expect(got).toEqual([
      { stream: STDOUT, ts: TS1, content: 'one\r\n' },
      { stream: STDOUT, ts: TS2, content: 'two\r\n' },
    ]);
  });

  it('recognises Docker 16 KiB pieces followed by the next timestamp, across chunk cuts', () => {
    const long = 'b'.repeat(DOCKER_PARTIAL_SIZE);
    const wire = Buffer.from(`${TS1} ${long}${TS1} ${long}${TS1} tail\r\n${TS2} next\r\n`);
    for (const cut of [1, 31, 100, DOCKER_PARTIAL_SIZE + 20, DOCKER_PARTIAL_SIZE + 31, wire.length - 3]) {
      const d = new RawDecoder();
      const got = collect((sink) => {
        d.push(wire.subarray(0, cut), sink);
        d.push(wire.subarray(cut), sink);
        d.end(sink);
      });
      expect(got.map((g) => g.content.length), `cut at ${cut}`).toEqual([DOCKER_PARTIAL_SIZE, DOCKER_PARTIAL_SIZE, 6, 6]);
      expect(got[2]?.content).toBe('tail\r\n');
    }
  });

  it('returns an unterminated last entry at the end of the stream', () => {
    const d = new RawDecoder();
    const got = collect((sink) => {
      d.push(Buffer.from(`${TS1} no newline`), sink);
      d.end(sink);
    });
    expect(got).toEqual([{ stream: STDOUT, ts: TS1, content: 'no newline' }]);
  });
});
