/** Reads a whole topic with Debian's kcat: the records as any standard Kafka tool sees them. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { inject } from 'vitest';
import type { LogRecord } from '../../agent/ship/record.js';
import { lineBytes } from '../../agent/ship/record.js';

const run = promisify(execFile);

export interface RawMessage {
  key: string;
  partition: number;
  offset: number;
  value: string;
}

export async function readTopic(topic: string, brokers = inject('kafkaBrokers')): Promise<RawMessage[]> {
  // Envelope per message: key, partition, offset, then the value; values are JSON without raw newlines.
  const { stdout } = await run('kcat', ['-b', brokers, '-t', topic, '-C', '-e', '-q', '-X', 'fetch.message.max.bytes=33554432', '-f', '%k\t%p\t%o\t%s\n'], {
    maxBuffer: 1024 * 1024 * 1024,
  }).catch((err: { stderr?: string }) => {
    if (String(err.stderr ?? '').includes('Unknown topic')) return { stdout: '' };
    throw err;
  });
  const out: RawMessage[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const [key, p, o] = line.split('\t', 3) as [string, string, string];
    const value = line.slice(key.length + p.length + o.length + 3);
    out.push({ key, partition: Number(p), offset: Number(o), value });
  }
  return out;
}

export interface ShippedLine {
  stream: 'stdout' | 'stderr';
  ts: string;
  bytes: Buffer;
  split: boolean;
}

/** Decodes records and returns each container's lines in topic order. */
export function linesByContainer(msgs: RawMessage[]): Map<string, { name: string; lines: ShippedLine[]; records: LogRecord[] }> {
  const by = new Map<string, { name: string; lines: ShippedLine[]; records: LogRecord[] }>();
  const sorted = [...msgs].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  for (const m of sorted) {
    const rec = JSON.parse(m.value) as LogRecord;
    const entry = by.get(rec.container.id) ?? { name: rec.container.name, lines: [], records: [] };
    entry.records.push(rec);
    for (const l of rec.lines) entry.lines.push({ stream: l.stream, ts: l.ts, bytes: lineBytes(l), split: l.split === true });
    by.set(rec.container.id, entry);
  }
  return by;
}

/** Polls until check() is true or the time is up. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** True when the group has committed every partition of the topic up to its end. */
export async function groupCaughtUp(groupId: string, topic: string, brokers = inject('kafkaBrokers')): Promise<boolean> {
  const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    let ends, committed;
    try {
      ends = await admin.fetchTopicOffsets(topic);
      [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    } catch (err) {
      // A fresh broker answers "not the coordinator" until the group's coordinator has loaded.
      if ((err as { retriable?: boolean }).retriable) return false;
      throw err;
    }
    return ends.every((e) => {
      const c = committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1';
      return e.high === '0' || c === e.high;
    });
  } finally {
    await admin.disconnect();
  }
}
