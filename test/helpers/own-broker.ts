/** A broker of the test's own (for tests that stop it), via test/env/kafka.sh. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePorts } from './ports.js';

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, '../env/kafka.sh');

export interface OwnBroker {
  brokers: string;
  /** Stops the broker process, keeping its data. */
  halt(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  restart(): Promise<void>;
  /** Stops it and removes its data. */
  remove(): Promise<void>;
}

export async function startOwnBroker(): Promise<OwnBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'shiplog-own-kafka-'));
  const port = await freePorts(2);
  const { stdout } = await run('bash', [SCRIPT, 'start', dir, String(port)]);
  return {
    brokers: stdout.trim(),
    halt: async () => void (await run('bash', [SCRIPT, 'halt', dir])),
    restart: async () => void (await run('bash', [SCRIPT, 'start', dir, String(port)])),
    remove: async () => void (await run('bash', [SCRIPT, 'stop', dir])),
  };
}
