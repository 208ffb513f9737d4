/**
 * The three-broker test cluster (test/env/kafka-cluster.sh) for one test file: its plaintext,
 * SASL_SSL (SCRAM) and mutual-TLS bootstrap lists, its SCRAM user and TLS files, and the
 * script's fault commands (kill, halt, restart a node).
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePorts } from './ports.js';

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, '../env/kafka-cluster.sh');

export interface TestCluster {
  /** Plaintext listeners. */
  brokers: string;
  /** SASL_SSL listeners (SCRAM-SHA-256 and -512). */
  secure: string;
  /** SSL listeners that require a client certificate. */
  mtls: string;
  user: string;
  password: string;
  /** Where ca.pem, client.pem/.key, other-ca.pem and other.pem/.key are (tls-certs.sh). */
  tls: string;
  /** kill | halt | restart <node>. */
  node(action: 'kill' | 'halt' | 'restart', node: number): Promise<void>;
  stop(): Promise<void>;
}

const script = (...args: string[]) => run('bash', [SCRIPT, ...args], { timeout: 180_000 }).then((r) => r.stdout.trim());

export async function startCluster(dir: string): Promise<TestCluster> {
  const brokers = await script('start', dir, String(await freePorts(12)));
  const [user, password] = (await script('user')).split(' ') as [string, string];
  return {
    brokers,
    secure: await script('brokers', dir, 'secure'),
    mtls: await script('brokers', dir, 'mtls'),
    user,
    password,
    tls: `${dir}/tls`,
    node: async (action, node) => void (await script(action, dir, String(node))),
    stop: async () => void (await script('stop', dir)),
  };
}
