/**
 * kafkajs 2.2.4 polls each broker connection's request queue every millisecond while nothing is
 * pending (lib/kafkajs-idle-fix.ts). With the fix, an idle producer and consumer connected to
 * the real broker make no such timers, and requests still go out and come back (a throttle or
 * a queue of pending requests is still checked).
 */
import { createHook } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createIdempotentProducer, createKafka } from '../../../lib/kafka.js';
import { fixKafkajsIdlePolling } from '../../../lib/kafkajs-idle-fix.js';
import { createLogger } from '../../../lib/logger.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Timers created while `ms` pass. */
async function timersDuring(ms: number): Promise<number> {
  let n = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'Timeout') n++;
    },
  }).enable();
  await new Promise((r) => setTimeout(r, ms));
  hook.disable();
  return n - 1;
}

describe('kafkajs idle polling', () => {
  it('an idle producer and consumer set no timer every millisecond, and still send, receive and fetch', async () => {
    expect(fixKafkajsIdlePolling()).toBe(true);
    const kafka = createKafka({ brokers: inject('kafkaBrokers').split(','), clientId: 'idle-test', log: createLogger('test', 'silent') });
    const topic = `idle-${randomUUID().slice(0, 8)}`;
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await producer.send({ topic, acks: -1, messages: [{ value: 'one' }] });
    const consumer = kafka.consumer({ groupId: `idle-${randomUUID().slice(0, 8)}`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void got.push(String(message.value)) });
    for (let i = 0; i < 200 && got.length < 1; i++) await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual(['one']);
    // kafkajs 2.2.4 as shipped: about 1,000 timers a second per connection (each fires at once
    // and makes the next), even on a loaded machine hundreds. Left: the consumer's fetch
    // round-trips (maxWait 200 ms), heartbeats and the producer's own, a few dozen at most.
    const timers = await timersDuring(1000);
    expect(timers).toBeLessThan(100);
    await producer.send({ topic, acks: -1, messages: [{ value: 'two' }] });
    for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual(['one', 'two']);
  });
});
