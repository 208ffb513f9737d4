/**
 * `shiplog logs` as a `docker logs` user types it, against a real `shiplog up` (real dockerd,
 * embedded store): several names, --stream, stderr lines on stderr, --level as "this or
 * worse", --regex, docker's --since/--until forms, "no such container" with exit 1, `| head`
 * without a stack trace, the local port found from SHIPLOG_HTTP_PORT; and the daemons'
 * --help, --version and refusal of misspelt settings.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI, tempDir } from '../../helpers/agent-process.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { docker, removeContainers, runContainer, testScope, waitExit } from '../../helpers/docker.js';
import { waitFor } from '../../helpers/kafka-read.js';
import { logs, scopedUp, up, type Up } from '../../helpers/up-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await runCleanups(cleanups);
});

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function run(args: string[], env: Record<string, string | undefined>, shell?: string): Promise<Run> {
  return new Promise((resolve) => {
    const p = shell
      ? spawn('bash', ['-c', shell], { env: { PATH: process.env.PATH, CLI, NODE: process.execPath, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

/** The messages of "name@host | message" lines. */
const messages = (text: string) => text.split('\n').filter(Boolean).map((l) => l.replace(/^[^|]*\| /, ''));

let u: Up;
let env: Record<string, string>;
let one: string;
let two: string;
let many: string;
let scope: { labels: Record<string, string> };

beforeAll(async () => {
  const s = await scopedUp(cleanups, 'shiplog-cli-');
  u = s.u;
  scope = s.scope;
  env = { SHIPLOG_URL: u.url };
  const tag = s.scope.value.slice(0, 8);
  [one, two, many] = [`one-${tag}`, `two-${tag}`, `many-${tag}`];
  const cs = await Promise.all([
    runContainer({ name: one, script: "echo a1; echo a2; echo a3; echo 'ERROR bad thing' >&2; echo 'WARN careful' >&2; echo 'INFO fine'", labels: s.scope.labels }),
    runContainer({ name: two, script: 'echo b1', labels: s.scope.labels }),
    runContainer({ name: many, script: 'seq 1 20000', labels: s.scope.labels }),
  ]);
  cleanups.push(() => removeContainers(cs.map((c) => c.id)));
  for (const c of cs) await waitExit(c.id);
  await waitFor(async () => ((await logs(u, `container=${one},${two}&limit=100`)).body.data?.length ?? 0) === 7, 60_000, 'the lines stored');
  await waitFor(async () => ((await logs(u, `container=${many}&limit=1&order=newest&q=20000`)).body.data?.length ?? 0) === 1, 60_000, 'the last line stored');
});

describe('shiplog logs with docker logs habits', () => {
  it('several names; stderr lines go to stderr; --stream; -n2 and -n=2', async () => {
    const r = await run(['logs', one, two, '-n', 'all'], env);
    expect(r.code).toBe(0);
    expect(messages(r.out).sort()).toEqual(['INFO fine', 'a1', 'a2', 'a3', 'b1']);
    expect(messages(r.err)).toEqual(['ERROR bad thing', 'WARN careful']);
    expect(r.err).toMatch(new RegExp(`^${one}@\\S+ \\| ERROR bad thing$`, 'm'));
    const errOnly = await run(['logs', one, '--stream', 'stderr', '-n', 'all'], env);
    expect([messages(errOnly.out), messages(errOnly.err)]).toEqual([[], ['ERROR bad thing', 'WARN careful']]);
    for (const n of [['-n2'], ['-n=2'], ['--tail=2']]) {
      const last = await run(['logs', one, '--stream', 'stdout', ...n], env);
      expect(messages(last.out), n.join(' ')).toEqual(['a3', 'INFO fine']);
    }
  });

  it('--level is that level or worse; --regex is RE2', async () => {
    expect(messages((await run(['logs', one, '--level', 'warn', '-n', 'all'], env)).err)).toEqual(['ERROR bad thing', 'WARN careful']);
    expect(messages((await run(['logs', one, '--level', 'error', '-n', 'all'], env)).err)).toEqual(['ERROR bad thing']);
    expect(messages((await run(['logs', one, '--regex', 'a[13]$', '-n', 'all'], env)).out)).toEqual(['a1', 'a3']);
    const bad = await run(['logs', one, '--regex', 'a(', '-n', 'all'], env);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('regular expression');
  });

  it('--since / --until in Unix seconds, durations and dates', async () => {
    const hourAgo = String(Math.floor(Date.now() / 1000) - 3600);
    expect(messages((await run(['logs', two, '--since', hourAgo], env)).out)).toEqual(['b1']);
    expect(messages((await run(['logs', two, '--since', '1h30m'], env)).out)).toEqual(['b1']);
    const none = await run(['logs', two, '--until', hourAgo], env);
    expect([none.code, none.out, none.err]).toEqual([0, '', '']);
    expect(messages((await run(['logs', two, '--until', '2999-01-01'], env)).out)).toEqual(['b1']);
  });

  it('a name that matches no container: "no such container", exit 1', async () => {
    const r = await run(['logs', 'nosuch-container'], env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('no such container: nosuch-container');
    expect((await run(['logs', 'nosuch-*'], env)).code).toBe(1);
  });

  it('| head -1: stops quietly with the reader, no stack trace', async () => {
    const r = await run([], env, '"$NODE" "$CLI" logs ' + many + ' -n all | head -1; echo "status=${PIPESTATUS[0]}" >&2');
    expect(messages(r.out)).toEqual(['1']);
    expect(r.err.trim()).toBe('status=0');
  });

  it('-n 0 -f prints only lines written from then on, none of those already stored', async () => {
    const c = await runContainer({ name: `late-${one}`, script: 'echo old; while [ ! -f /tmp/go ]; do sleep 0.2; done; echo new', labels: scope.labels });
    cleanups.push(() => removeContainers([c.id]));
    await waitFor(async () => ((await logs(u, `container=${c.name}`)).body.data?.length ?? 0) === 1, 30_000, 'the old line stored');
    const follower = spawn(process.execPath, [CLI, 'logs', c.name, '-f', '-n', '0'], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    follower.stdout?.on('data', (d: Buffer) => (followed += d.toString()));
    const exited = new Promise((r) => follower.on('close', r));
    cleanups.push(() => void follower.kill('SIGKILL'));
    await waitFor(async () => /^shiplog_api_tail_streams 1$/m.test(await (await fetch(`${u.url}/metrics`)).text()), 30_000, 'the follower connected');
    // Its stream has started once it has read what is stored (a moment after connecting).
    await new Promise((r) => setTimeout(r, 1000));
    await docker(['exec', c.id, 'touch', '/tmp/go']);
    await waitFor(() => followed.includes('new'), 30_000, 'the new line followed');
    follower.kill('SIGINT');
    await exited;
    expect(messages(followed)).toEqual(['new']);
  });

  it('-f across a server restart: reconnects and resumes after the last line printed, nothing lost or twice', async () => {
    const data = tempDir('shiplog-cli-restart-');
    cleanups.push(data.cleanup);
    const sc = testScope();
    const base = { SHIPLOG_DATA_DIR: data.dir, SHIPLOG_INCLUDE_LABELS: `${sc.label}=${sc.value}` };
    let server = await up(base);
    cleanups.push(async () => {
      server.proc.kill('SIGTERM');
      await server.exited;
    });
    const port = new URL(server.url).port;
    const name = `restart-${sc.value.slice(0, 8)}`;
    const follower = spawn(process.execPath, [CLI, 'logs', name, '-f', '-n', 'all'], { env: { PATH: process.env.PATH, SHIPLOG_URL: server.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    let notes = '';
    follower.stdout?.on('data', (d: Buffer) => (followed += d.toString()));
    follower.stderr?.on('data', (d: Buffer) => (notes += d.toString()));
    const exited = new Promise((r) => follower.on('close', r));
    cleanups.push(() => void follower.kill('SIGKILL'));
    const c = await runContainer({ name, script: 'i=1; while [ $i -le 300 ]; do echo line-$i; i=$((i+1)); sleep 0.05; done', labels: sc.labels });
    cleanups.push(() => removeContainers([c.id]));
    await waitFor(() => messages(followed).length >= 40, 30_000, 'the follower to print 40 lines');
    server.proc.kill('SIGTERM');
    await server.exited;
    server = await up({ ...base, SHIPLOG_HTTP_PORT: port });
    await waitExit(c.id);
    await waitFor(() => followed.includes('line-300\n'), 60_000, 'the follower to print the last line after the restart');
    follower.kill('SIGINT');
    await exited;
    expect(messages(followed)).toEqual(Array.from({ length: 300 }, (_, i) => `line-${i + 1}`));
    expect(notes).toContain('reconnect');
  });

  it('--raw gives back the exact bytes of a line that is not valid UTF-8; the API has them as message_base64', async () => {
    // The local log driver keeps invalid bytes as they are (json-file would replace them).
    const c = await runContainer({ name: `raw-${one}`, script: "printf 'ok \\377\\376 end\\n'; printf 'plain\\n'", logDriver: 'local', labels: scope.labels });
    cleanups.push(() => removeContainers([c.id]));
    await waitExit(c.id);
    await waitFor(async () => ((await logs(u, `container=${c.name}`)).body.data?.length ?? 0) === 2, 30_000, 'both lines stored');
    const bytes = Buffer.from([...Buffer.from('ok '), 0xff, 0xfe, ...Buffer.from(' end')]);
    const lines = (await logs(u, `container=${c.name}&order=oldest`)).body.data ?? [];
    expect(lines.map((l) => l.message_base64)).toEqual([bytes.toString('base64'), undefined]);
    const raw = await new Promise<Buffer>((resolve) => {
      const p = spawn(process.execPath, [CLI, 'logs', c.name, '--raw'], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
      const chunks: Buffer[] = [];
      p.stdout?.on('data', (d: Buffer) => chunks.push(d));
      p.on('close', () => resolve(Buffer.concat(chunks)));
    });
    expect(raw.equals(Buffer.concat([bytes, Buffer.from('\nplain\n')]))).toBe(true);
  });

  it('finds a local shiplog up on SHIPLOG_HTTP_PORT without SHIPLOG_URL', async () => {
    const port = new URL(u.url).port;
    expect(messages((await run(['logs', two], { SHIPLOG_HTTP_PORT: port })).out)).toEqual(['b1']);
  });
});

describe('the daemons: help, version, settings', () => {
  it('--help and --version answer; misspelt flags, variables and a port in use stop start-up in one line naming the setting', async () => {
    for (const cmd of ['up', 'agent', 'collector']) {
      const h = await run([cmd, '--help'], {});
      expect(h.code, cmd).toBe(0);
      expect(h.out, cmd).toContain('SHIPLOG_DATA_DIR');
    }
    const lh = await run(['logs', '--help'], {});
    expect([lh.code, lh.out.includes('--since T')]).toEqual([0, true]);
    const v = await run(['--version'], {});
    expect(v.out).toMatch(/^shiplog \d+\.\d+\.\d+\n$/);
    const flag = await run(['up', '--htp-port', '31893'], {});
    expect(flag.code).toBe(2);
    expect(flag.err).toContain('unknown option --htp-port (did you mean --http-port?)');
    // A port in use: one line naming the setting, before the data dir is touched.
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    cleanups.push(() => void taken.close());
    const port = (taken.address() as AddressInfo).port;
    const dir = join(tempDir('shiplog-port-').dir, 'data');
    const inUse = await run(['up', '--http-port', String(port)], { SHIPLOG_DATA_DIR: dir, DOCKER_HOST: inject('dockerHost') });
    expect(inUse.code).toBe(2);
    expect(inUse.err).toBe(`shiplog: invalid configuration: SHIPLOG_HTTP_PORT: 127.0.0.1:${port} is already in use (another shiplog, or another program, listens there); stop it or choose another port, e.g. --http-port ${port + 10}\n`);
    expect(existsSync(dir)).toBe(false);
    const variable = await run(['up'], { SHIPLOG_HTTP_PROT: '31893' });
    expect(variable.code).toBe(2);
    expect(variable.err).toContain('SHIPLOG_HTTP_PROT is not a shiplog setting (did you mean SHIPLOG_HTTP_PORT?)');
  });
});
