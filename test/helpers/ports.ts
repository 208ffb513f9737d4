/**
 * Ports for the servers tests start (Kafka, Prometheus, agents in containers). They come from
 * below the kernel's ephemeral range (32768-60999 by default), so no outgoing connection of
 * the machine can hold one when a server binds it or binds it again after a restart, and
 * each candidate is checked free by listening on it first.
 */
import { createServer } from 'node:net';

const LOW = 10_000;
const HIGH = 32_000;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** `count` consecutive free ports on 127.0.0.1; returns the first. */
export async function freePorts(count = 1): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = LOW + Math.floor(Math.random() * ((HIGH - LOW) / count)) * count;
    let free = true;
    for (let i = 0; i < count && free; i++) free = await canListen(base + i);
    if (free) return base;
  }
  throw new Error(`no ${count} free consecutive ports between ${LOW} and ${HIGH}`);
}
