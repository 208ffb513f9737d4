/** Test containers through the docker CLI (the tests create containers; the agent only reads). */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { get as httpGet } from 'node:http';
import { promisify } from 'node:util';
import { inject } from 'vitest';

const run = promisify(execFile);
export const TEST_IMAGE = process.env.SHIPLOG_TEST_IMAGE ?? 'shiplog-test/busybox:latest';

export function dockerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_HOST: inject('dockerHost') };
}

/** A GET of the Docker Engine API on the test dockerd's socket, as JSON (for what the CLI does not show). */
export function dockerApi<T>(path: string): Promise<T> {
  const socketPath = inject('dockerHost').replace(/^unix:\/\//, '');
  return new Promise((resolve, reject) => {
    const req = httpGet({ socketPath, path, headers: { host: 'docker' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as T) : reject(new Error(`GET ${path}: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
  });
}

export async function docker(args: string[], input?: string): Promise<string> {
  const p = run('docker', args, { env: dockerEnv(), maxBuffer: 64 * 1024 * 1024 });
  if (input !== undefined) p.child.stdin?.end(input);
  const { stdout } = await p;
  return stdout.trim();
}

export interface ContainerSpec {
  script: string;
  tty?: boolean;
  labels?: Record<string, string>;
  env?: Record<string, string>;
  name?: string;
  /** Docker log driver (json-file by default; `local` keeps invalid UTF-8 bytes as they are). */
  logDriver?: string;
  /** --log-opt key=value pairs (e.g. max-size for rotation). */
  logOpts?: Record<string, string>;
}

/** Runs a busybox container (network off) with `sh -c script`; returns its id. */
export async function runContainer(spec: ContainerSpec): Promise<{ id: string; name: string }> {
  const name = spec.name ?? `t-${randomUUID().slice(0, 12)}`;
  const args = ['run', '-d', '--network', 'none', '--name', name];
  if (spec.tty) args.push('-t');
  if (spec.logDriver) args.push('--log-driver', spec.logDriver);
  for (const [k, v] of Object.entries(spec.logOpts ?? {})) args.push('--log-opt', `${k}=${v}`);
  for (const [k, v] of Object.entries(spec.labels ?? {})) args.push('--label', `${k}=${v}`);
  for (const [k, v] of Object.entries(spec.env ?? {})) args.push('--env', `${k}=${v}`);
  args.push(TEST_IMAGE, 'sh', '-c', spec.script);
  const id = await docker(args);
  return { id, name };
}

export async function waitExit(id: string): Promise<number> {
  return Number(await docker(['wait', id]));
}

export async function removeContainers(ids: string[]): Promise<void> {
  if (ids.length) await docker(['rm', '-f', ...ids]).catch(() => undefined);
}

/** A label that scopes one test's agent to that test's containers. */
export function testScope(): { label: string; value: string; labels: Record<string, string> } {
  const value = randomUUID();
  return { label: 'shiplog.test', value, labels: { 'shiplog.test': value } };
}
