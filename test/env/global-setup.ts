/**
 * Starts the real components the integration tests need, unless the environment already
 * names them: a private dockerd (DOCKER_HOST) and a Kafka broker (SHIPLOG_KAFKA_BROKERS).
 * Stops only what it started, by pid (the scripts keep the pid files).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePorts } from '../helpers/ports.js';

const here = resolve(import.meta.dirname);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: (() => void)[] = [];
  if (!process.env.DOCKER_HOST) {
    const dir = mkdtempSync(join(tmpdir(), 'shiplog-dockerd-'));
    const host = execFileSync('bash', [join(here, 'docker.sh'), 'start', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    process.env.DOCKER_HOST = host;
    stops.push(() => execFileSync('bash', [join(here, 'docker.sh'), 'stop', dir], { stdio: 'inherit' }));
  }
  if (!process.env.SHIPLOG_KAFKA_BROKERS) {
    const dir = mkdtempSync(join(tmpdir(), 'shiplog-kafka-'));
    const brokers = execFileSync('bash', [join(here, 'kafka.sh'), 'start', dir, String(await freePorts(2))], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    process.env.SHIPLOG_KAFKA_BROKERS = brokers;
    stops.push(() => execFileSync('bash', [join(here, 'kafka.sh'), 'stop', dir], { stdio: 'inherit' }));
  }
  project.provide('dockerHost', process.env.DOCKER_HOST);
  project.provide('kafkaBrokers', process.env.SHIPLOG_KAFKA_BROKERS);
  return async () => {
    for (const stop of stops.reverse()) {
      try {
        stop();
      } catch (err) {
        console.error('teardown:', err);
      }
    }
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    dockerHost: string;
    kafkaBrokers: string;
  }
}
