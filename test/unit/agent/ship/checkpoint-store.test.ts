import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointStore, after } from '../../../../agent/ship/checkpoint-store.js';
import { CheckpointError } from '../../../../lib/errors.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'shiplog-cp-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const A = '2026-11-23T16:00:00.000000001Z';
const B = '2026-11-23T16:00:00.000000002Z';

describe('CheckpointStore', () => {
  it('coalesces background writes: many acks in a second make at most two writes, the last cursor among them; stop does not wait', async () => {
    const d = tmp();
    const s = new CheckpointStore(d, 'kafka:t.logs');
    s.minIntervalMs = 60_000;
    const errors: unknown[] = [];
    for (let i = 1; i <= 200; i++) {
      s.advance('c1', { stdout: { ts: A, n: i } });
      s.persistSoon((e) => errors.push(e));
    }
    // The first write goes at once; the other 199 acks wait for one more write.
    const t0 = Date.now();
    await s.settled();
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(errors).toEqual([]);
    expect(s.writes).toBeLessThanOrEqual(2);
    expect(new CheckpointStore(d, 'kafka:t.logs').get('c1')?.stdout).toEqual({ ts: A, n: 200 });
  });

  it('persists cursors and partition offsets and reads them back', () => {
    const d = tmp();
    const s = new CheckpointStore(d, 'kafka:t.logs');
    s.advance('c1', { stdout: { ts: A, n: 2 } });
    s.setPartitionOffset(3, '17');
    s.persist();
    const r = new CheckpointStore(d, 'kafka:t.logs');
    expect(r.get('c1')?.stdout).toEqual({ ts: A, n: 2 });
    expect(r.partitions()).toEqual({ '3': '17' });
    expect(r.firstStart).toBe(s.firstStart);
  });

  it('never moves a cursor or an offset back', () => {
    const s = new CheckpointStore(tmp(), 'kafka:t.logs');
    s.advance('c1', { stdout: { ts: B, n: 1 }, stderr: { ts: A, n: 3 } });
    s.advance('c1', { stdout: { ts: A, n: 9 }, stderr: { ts: A, n: 2 } });
    expect(s.get('c1')).toMatchObject({ stdout: { ts: B, n: 1 }, stderr: { ts: A, n: 3 } });
    s.setPartitionOffset(0, '10');
    s.setPartitionOffset(0, '9');
    expect(s.partitions()['0']).toBe('10');
  });

  it('drops partition offsets that belong to another target, keeps cursors', () => {
    const d = tmp();
    const s = new CheckpointStore(d, 'kafka:a.logs');
    s.advance('c1', { stdout: { ts: A, n: 1 } });
    s.setPartitionOffset(0, '5');
    s.persist();
    const r = new CheckpointStore(d, 'kafka:b.logs');
    expect(r.partitions()).toEqual({});
    expect(r.get('c1')?.stdout).toEqual({ ts: A, n: 1 });
  });

  it('refuses a corrupt file with a typed error naming it', () => {
    const d = tmp();
    mkdirSync(join(d, 'agent'));
    writeFileSync(join(d, 'agent', 'checkpoints.json'), '{"version":1,"contai');
    expect(() => new CheckpointStore(d, 'x')).toThrow(CheckpointError);
    expect(() => new CheckpointStore(d, 'x')).toThrow(/checkpoints.json/);
  });

  it('writes through a temporary file (no partial file is ever in place)', () => {
    const d = tmp();
    const s = new CheckpointStore(d, 'x');
    for (let i = 1; i <= 50; i++) {
      s.advance('c', { stdout: { ts: A, n: i } });
      s.persist();
      expect(JSON.parse(readFileSync(join(d, 'agent', 'checkpoints.json'), 'utf8')).containers.c.stdout.n).toBe(i);
    }
  });

  it('keeps the file position that goes with the cursors: moved with them, cleared by API-mode cursors, kept by recovery', () => {
    const d = tmp();
    const s = new CheckpointStore(d, 'kafka:t.logs');
    const pos = { dev: '2049', ino: '18446744073709551615', offset: 4096 };
    s.advance('c1', { stdout: { ts: A, n: 1 } }, { ...pos, seq: 3, ts: A } as typeof pos);
    expect(s.get('c1')?.file).toEqual(pos);
    // A cursor that does not move leaves the position as it is.
    s.advance('c1', { stdout: { ts: A, n: 1 } }, { ...pos, offset: 1 });
    expect(s.get('c1')?.file?.offset).toBe(4096);
    // Cursors recovered from Kafka (no position): the older position still holds (reads more, never less).
    s.advance('c1', { stdout: { ts: B, n: 1 } });
    expect(s.get('c1')?.file).toEqual(pos);
    s.persist();
    expect(new CheckpointStore(d, 'kafka:t.logs').get('c1')?.file).toEqual(pos);
    // Lines read through the API move the cursors past any file position: it goes.
    s.advance('c1', { stdout: { ts: B, n: 2 } }, null);
    expect(s.get('c1')?.file).toBeUndefined();
  });

  it('orders cursors by timestamp, then count', () => {
    expect(after({ ts: B, n: 1 }, { ts: A, n: 5 })).toBe(true);
    expect(after({ ts: A, n: 5 }, { ts: A, n: 5 })).toBe(false);
    expect(after({ ts: A, n: 1 }, undefined)).toBe(true);
  });
});
