/**
 * The agent's Kafka send checks kafkajs' answer: every partition it sent must be answered. A
 * producer stand-in answers like kafkajs 2.2.4 after a leader moved (one partition left out of
 * a successful answer); the three-broker cluster test (test/integration/cluster) is where the
 * real client did it.
 */
import type { Producer, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaTransport } from '../../../../agent/ship/kafka-transport.js';
import { createLogger } from '../../../../lib/logger.js';

type Sent = { partition: number; key: string }[];

function transport(answer: (sent: Sent, call: number) => RecordMetadata[]): { t: KafkaTransport; calls: Sent[] } {
  const t = new KafkaTransport({ brokers: ['127.0.0.1:1'], topic: 'x.logs', statsTopic: 'x.stats', compression: 'none', partitions: 3, replicationFactor: -1, maxMessageBytes: 1 << 20 }, createLogger('t', 'silent'));
  const calls: Sent[] = [];
  const producer = {
    async sendBatch({ topicMessages }: { topicMessages: { messages: Sent }[] }) {
      const sent = topicMessages[0]?.messages ?? [];
      calls.push(sent);
      return answer(sent, calls.length);
    },
  } as unknown as Producer;
  const partitions = [0, 1, 2].map((p) => ({ partitionId: p, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
  Object.assign(t, { producer, partitionMeta: partitions });
  (t as unknown as { auxPartitions: Map<string, unknown> }).auxPartitions.set('x.stats', partitions);
  return { t, calls };
}

const meta = (partition: number, baseOffset: string, topicName = 'x.logs'): RecordMetadata => ({ topicName, partition, errorCode: 0, baseOffset });

describe('KafkaTransport.send', () => {
  const records = Array.from({ length: 30 }, (_, i) => ({ key: `container-${i % 5}`, value: Buffer.from(`r${i}`), lines: 1 }));

  it('sends again the records of a partition the answer left out, and takes offsets from both answers', async () => {
    const { t, calls } = transport((sent, call) => {
      const parts = [...new Set(sent.map((m) => m.partition))];
      // The first answer leaves out the highest partition, as kafkajs did after a leader moved.
      return (call === 1 ? parts.slice(0, -1) : parts).map((p) => meta(p, String(call * 100)));
    });
    const parts = [...new Set(records.map((r) => t.partitionOf(r.key)))].sort();
    expect(parts.length).toBeGreaterThan(1);
    const r = await t.send(records);
    expect(calls).toHaveLength(2);
    const left = parts[parts.length - 1];
    expect(calls[1]?.every((m) => m.partition === left)).toBe(true);
    expect(calls[1]?.length).toBe(records.filter((x) => t.partitionOf(x.key) === left).length);
    expect([...r.nextOffsets.keys()].sort()).toEqual(parts);
    expect(t.unansweredResends).toBe(1);
  });

  it('stats records are checked the same way', async () => {
    const { t, calls } = transport((sent, call) => {
      const parts = [...new Set(sent.map((m) => m.partition))];
      return (call === 1 ? parts.slice(1) : parts).map((p) => meta(p, '1', 'x.stats'));
    });
    await t.sendAux('stats', records.map((r) => ({ key: r.key, value: r.value.toString() })));
    expect(calls).toHaveLength(2);
    expect(calls[0]?.length).toBe(records.length);
    expect(t.unansweredResends).toBe(1);
  });

  it('a complete answer is one send; a partition never answered is an error, not a success', async () => {
    const full = transport((sent) => [...new Set(sent.map((m) => m.partition))].map((p) => meta(p, '7')));
    await full.t.send(records);
    expect(full.calls).toHaveLength(1);
    const never = transport(() => []);
    await expect(never.t.send(records)).rejects.toThrow(/unanswered/);
  });
});
