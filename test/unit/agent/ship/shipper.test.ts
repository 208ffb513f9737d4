import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgentMetrics } from '../../../../agent/metrics.js';
import { CheckpointStore } from '../../../../agent/ship/checkpoint-store.js';
import { Shipper } from '../../../../agent/ship/shipper.js';
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
