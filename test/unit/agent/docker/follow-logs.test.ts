/**
 * LogFollower in process, on Docker's multiplexed log bytes as the Engine API sends them
 * (8-byte frame headers, RFC 3339 nanosecond timestamps, 16 KiB partial entries without a
 * newline), cut into chunks at random places: the lines reach the shipper whole, in order,
 * per stream, byte-exact; the cursor is the last line's; a resumed read drops what the cursor
 * covers; a stream that breaks inside a frame or carries garbage ends as 'error' with the
 * cursor before the broken part; Docker going back in time makes a follow reopen.
 */
import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { DockerClient } from '../../../../agent/docker/client.js';
import type { ContainerMeta } from '../../../../agent/docker/containers.js';
import type { Line } from '../../../../agent/docker/assemble-lines.js';
import { LogFollower, type FollowEnd } from '../../../../agent/docker/follow-logs.js';
import { createAgentMetrics } from '../../../../agent/metrics.js';
import type { RecordCursor } from '../../../../agent/ship/record.js';
import type { Shipper } from '../../../../agent/ship/shipper.js';
import { createLogger } from '../../../../lib/logger.js';
import { cutAt } from '../../../helpers/cut-bytes.js';

const meta: ContainerMeta = { id: 'a'.repeat(64), name: 'web', image: 'img', imageId: '', labels: {}, tty: false, running: true, env: [], created: '', startedAt: '', finishedAt: '', exitCode: 0, logDriver: 'json-file', logPath: '' };

const ts = (i: number) => `2026-11-23T16:00:00.${String(i).padStart(9, '0')}Z`;

/** One multiplexed frame: stream byte, three zero bytes, big-endian length, then the payload. */
function frame(stream: 1 | 2, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** An entry as Docker writes it with timestamps=true. */
const entry = (stream: 1 | 2, i: number, text: Buffer | string, newline = true) => frame(stream, Buffer.concat([Buffer.from(`${ts(i)} `), Buffer.from(text), Buffer.from(newline ? '\n' : '')]));

/** A Docker stand-in that answers /logs with these chunks, then ends (or stays open when `hold`). */
function fakeDocker(chunks: Buffer[], hold = false): { docker: DockerClient; queries: Record<string, unknown>[] } {
  const queries: Record<string, unknown>[] = [];
  const docker = {
    stream: async (_path: string, query: Record<string, unknown>) => {
      queries.push(query);
      const s = new PassThrough();
      setImmediate(() => {
        for (const c of chunks) s.write(c);
        if (!hold) s.end();
      });
      return s as unknown as IncomingMessage;
    },
  } as unknown as DockerClient;
  return { docker, queries };
}

/** Collects what the follower hands on; copies, since a line's bytes are a view valid only during the call. */
function fakeShipper() {
  const lines: { stream: number; ts: string; msg: Buffer; split: boolean }[] = [];
  const shipper = {
    full: false,
    push: (_id: string, l: Line) => {
      lines.push({ stream: l.stream, ts: l.ts, msg: Buffer.from(l.msg), split: l.split });
      return true;
    },
    waitForRoom: async () => undefined,
  } as unknown as Shipper;
  return { shipper, lines };
}

async function follow(chunks: Buffer[], o: { resume?: RecordCursor; follow?: boolean; hold?: boolean } = {}) {
  const { docker, queries } = fakeDocker(chunks, o.hold);
  const { shipper, lines } = fakeShipper();
  const metrics = createAgentMetrics(new Registry(), { bufferedBytes: () => 0, bufferedLines: () => 0, containersFollowed: () => 0, containersExcluded: () => 0, checkpointLag: () => new Map() });
  const f = new LogFollower(docker, meta, o.resume, shipper, { maxLineBytes: 1 << 20, multilineLimits: { maxLines: 100, maxBytes: 1 << 20 }, multilineFlushMs: 100, since: '0', follow: o.follow ?? false }, metrics, createLogger('test', 'silent'));
  const how: FollowEnd = await f.run();
  return { how, lines, cursor: f.cursor, queries, follower: f };
}

describe('LogFollower on Docker stream bytes', () => {
  it('hands on every line whole, per stream and in order, wherever the chunks are cut; 16 KiB partials joined', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom<1 | 2>(1, 2), fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a.filter((b) => b !== 0x0a))), fc.nat({ max: 2 })), { minLength: 1, maxLength: 12 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
        async (spec, at) => {
          let i = 1;
          const frames: Buffer[] = [];
          const want: { stream: number; msg: Buffer }[] = [];
          for (const [stream, text, pieces] of spec) {
            // A long line arrives as partial entries (no newline) and a last one with it.
            const parts = pieces === 0 ? [text] : [Buffer.alloc(16 * 1024, 0x61 + pieces), ...(pieces === 2 ? [Buffer.alloc(16 * 1024, 0x62)] : []), text];
            parts.forEach((p, k) => frames.push(entry(stream, i++, p, k === parts.length - 1)));
            want.push({ stream, msg: Buffer.concat(parts) });
          }
          const r = await follow(cutAt(Buffer.concat(frames), at));
          expect(r.how).toBe('ended');
          for (const s of [1, 2]) {
            const got = r.lines.filter((l) => l.stream === s).map((l) => l.msg.toString('hex'));
            expect(got).toEqual(want.filter((w) => w.stream === s).map((w) => w.msg.toString('hex')));
          }
          const lastOut = r.lines.filter((l) => l.stream === 1).at(-1);
          if (lastOut) expect(r.cursor.stdout?.ts).toBeDefined();
        },
      ),
      { numRuns: 80 },
    );
  });

  it('asks Docker from the cursor and drops what the cursor covers', async () => {
    const chunks = [entry(1, 1, 'one'), entry(1, 2, 'two'), entry(1, 2, 'two-b'), entry(1, 3, 'three')];
    const r = await follow(chunks, { resume: { stdout: { ts: ts(2), n: 1 } } });
    expect(r.queries[0]?.since).toBeDefined();
    expect(r.lines.map((l) => l.msg.toString())).toEqual(['two-b', 'three']);
    expect(r.cursor.stdout).toMatchObject({ ts: ts(3), n: 1 });
  });

  it('ends as error when the stream breaks inside a frame, with the cursor before the broken entry', async () => {
    const good = entry(1, 1, 'whole');
    const broken = entry(1, 2, 'cut short');
    const r = await follow([good, broken.subarray(0, 12)]);
    expect(r.how).toBe('error');
    expect(r.lines.map((l) => l.msg.toString())).toEqual(['whole']);
    expect(r.cursor.stdout).toMatchObject({ ts: ts(1), n: 1 });
  });

  it('ends as error on bytes that are not frames, keeping the lines before them', async () => {
    const r = await follow([entry(2, 1, 'err line'), Buffer.from('HTTP/1.1 garbage that is no frame header')]);
    expect(r.how).toBe('error');
    expect(r.lines.map((l) => [l.stream, l.msg.toString()])).toEqual([[2, 'err line']]);
  });

  it('reopens a follow stream that goes back in time (Docker after a rotation), without handing on the repeat', async () => {
    const r = await follow([entry(1, 5, 'five'), entry(1, 6, 'six'), entry(1, 5, 'five again')], { follow: true, hold: true });
    expect(r.how).toBe('reopen');
    expect(r.lines.map((l) => l.msg.toString())).toEqual(['five', 'six']);
    expect(r.cursor.stdout).toMatchObject({ ts: ts(6), n: 1 });
  });
});
