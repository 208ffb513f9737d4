import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgentMetrics } from '../../../../agent/metrics.js';
import { CheckpointStore } from '../../../../agent/ship/checkpoint-store.js';
import { Shipper } from '../../../../agent/ship/shipper.js';
import { lineBytes, type LogRecord } from '../../../../agent/ship/record.js';
import type { OutRecord, SendResult, Transport } from '../../../../agent/ship/transport.js';
import { createLogger } from '../../../../lib/logger.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Acknowledges every send after `delayMs`, remembering what each send held. */
class SlowTransport implements Transport {
  readonly target = 'test';
  readonly maxRecordBytes = 1 << 20;
  readonly sends: number[] = [];
  constructor(private readonly delayMs: number) {}
  async start(): Promise<void> {}
  async send(records: OutRecord[]): Promise<SendResult> {
    await new Promise((r) => setTimeout(r, this.delayMs));
    this.sends.push(records.reduce((n, r) => n + r.lines, 0));
    return { nextOffsets: new Map() };
  }
  async sendAux(): Promise<void> {}
  async recover() {
    return { cursors: new Map(), endOffsets: new Map(), scanned: 0 };
  }
  async stop(): Promise<void> {}
}

function shipper(transport: Transport, lingerMs: number, batchBytes = 1 << 20): Shipper {
  const d = mkdtempSync(join(tmpdir(), 'shiplog-shipper-'));
  dirs.push(d);
  const metrics = createAgentMetrics(new Registry(), { bufferedBytes: () => 0, bufferedLines: () => 0, containersFollowed: () => 0, containersExcluded: () => 0, checkpointLag: () => new Map() });
  const s = new Shipper({ batchBytes, lingerMs, recordBytes: 1 << 20, maxBufferBytes: 64 << 20 }, transport, new CheckpointStore(d, 'test'), metrics, createLogger('test', 'silent'));
  s.setContainer('c1', 'one', '{"container":{}}');
  s.start();
  return s;
}

function line(i: number) {
  const ts = new Date(Date.UTC(2026, 10, 25, 0, 0, 0, i)).toISOString();
  return { stream: 1 as const, ts, msg: Buffer.from(`line ${i}`), cursor: { ts, n: 1 }, split: false };
}

describe('Shipper batching', () => {
  it('at a low rate sends about once per linger, not once per round trip (lines that arrive during a send wait out their own linger)', async () => {
    const t = new SlowTransport(40);
    const s = shipper(t, 400);
    const started = Date.now();
    let i = 0;
    // 50 lines a second for ~2 s.
    while (Date.now() - started < 2000) {
      s.push('c1', line(i++));
      await new Promise((r) => setTimeout(r, 20));
    }
    const elapsed = Date.now() - started;
    await s.stop(5000);
    expect(t.sends.reduce((a, b) => a + b, 0)).toBe(i);
    // One send per 400 ms linger (+ the last one at stop). Sending whatever came in during
    // the previous send at once made one send per 40 ms round trip (~50 here).
    expect(t.sends.length).toBeLessThanOrEqual(Math.ceil(elapsed / 400) + 2);
  });

  it('a full batch goes at once, without waiting for the linger', async () => {
    const t = new SlowTransport(1);
    const s = shipper(t, 60_000, 200);
    for (let i = 0; i < 20; i++) s.push('c1', line(i));
    const t0 = Date.now();
    while (t.sends.length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 10));
    expect(t.sends.length).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await s.stop(100);
  });
});

/** Keeps every record sent. */
class KeepingTransport extends SlowTransport {
  readonly records: OutRecord[] = [];
  constructor() {
    super(0);
  }
  override async send(records: OutRecord[]): Promise<SendResult> {
    this.records.push(...records);
    return super.send(records);
  }
}

describe('Shipper records', () => {
  it('ships every line once, in order, in records of whole lines no larger than the record size (a longer line alone)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('c1', 'c2'), fc.integer({ min: 0, max: 6000 }), fc.boolean()), { minLength: 1, maxLength: 120 }),
        fc.constantFrom(1024, 4096, 100_000),
        async (spec, recordBytes) => {
          const t = new KeepingTransport();
          const d = mkdtempSync(join(tmpdir(), 'shiplog-shipper-'));
          dirs.push(d);
          const metrics = createAgentMetrics(new Registry(), { bufferedBytes: () => 0, bufferedLines: () => 0, containersFollowed: () => 0, containersExcluded: () => 0, checkpointLag: () => new Map() });
          const s = new Shipper({ batchBytes: 8192, lingerMs: 5, recordBytes, maxBufferBytes: 64 << 20 }, t, new CheckpointStore(d, 'test'), metrics, createLogger('test', 'silent'));
          s.setContainer('c1', 'one', '{"v":1,"container":{"id":"c1"},"lines":[');
          s.setContainer('c2', 'two', '{"v":1,"container":{"id":"c2"},"lines":[');
          s.start();
          const sent = new Map<string, string[]>([['c1', []], ['c2', []]]);
          for (const [i, [id, size, err]] of spec.entries()) {
            const msg = Buffer.from(`${i} ${'x"\n'.repeat(size / 3)}`);
            (sent.get(id) as string[]).push(msg.toString('hex'));
            const ts = new Date(Date.UTC(2026, 10, 25, 0, 0, 0, i)).toISOString();
            s.push(id, { stream: err ? 2 : 1, ts, msg, cursor: { ts, n: 1 }, split: false });
          }
          await s.stop(5000);
          const got = new Map<string, string[]>([['c1', []], ['c2', []]]);
          for (const r of t.records) {
            const rec = JSON.parse(r.value.toString('utf8')) as LogRecord;
            expect(rec.container.id).toBe(r.key);
            expect(rec.lines).toHaveLength(r.lines);
            if (rec.lines.length > 1) expect(r.value.length).toBeLessThanOrEqual(recordBytes + 200);
            (got.get(r.key) as string[]).push(...rec.lines.map((l) => lineBytes(l).toString('hex')));
          }
          expect(got).toEqual(sent);
          expect(s.stats).toEqual({ bufferedBytes: 0, bufferedLines: 0 });
        },
      ),
      { numRuns: 60 },
    );
  });
});
