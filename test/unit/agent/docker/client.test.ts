import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerClient, compareApiVersions, parseDockerHost } from '../../../../agent/docker/client.js';
import { DockerApiError, DockerNotFoundError, DockerReadOnlyError, DockerUnreachableError } from '../../../../lib/errors.js';

// A stand-in socket server that records every request reaching it. (The real engine is
// exercised by the integration tests; this proves what never leaves the client.)
let server: Server;
let dir: string;
const seen: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shiplog-client-'));
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url === '/version') {
      res.end(JSON.stringify({ ApiVersion: '1.41' }));
    } else if (req.url?.startsWith('/v1.41/containers/gone/json')) {
      res.statusCode = 404;
      res.end(JSON.stringify({ message: 'No such container: gone' }));
    } else if (req.url?.startsWith('/v1.41/boom')) {
      res.statusCode = 500;
      res.end(JSON.stringify({ message: 'server exploded' }));
    } else res.end('{}');
  });
  await new Promise<void>((r) => server.listen(join(dir, 'd.sock'), r));
});

afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('DockerClient', () => {
  it('negotiates down to the daemon API version and prefixes paths with it', async () => {
    const c = new DockerClient({ socketPath: join(dir, 'd.sock'), display: 'test' });
    expect(await c.negotiate()).toBe('1.41');
    await c.getJson('/containers/json', { all: true });
    expect(seen).toContain('GET /v1.41/containers/json?all=1');
    c.close();
  });

  it('refuses every method but GET before anything is sent', async () => {
    const c = new DockerClient({ socketPath: join(dir, 'd.sock'), display: 'test' });
    const before = seen.length;
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'get']) {
      await expect(c.open(m, '/containers/x/kill', {}, true, 1000)).rejects.toBeInstanceOf(DockerReadOnlyError);
    }
    expect(seen.length).toBe(before);
    c.close();
  });

  it('maps 404 and other statuses to typed errors', async () => {
    const c = new DockerClient({ socketPath: join(dir, 'd.sock'), display: 'test' });
    await c.negotiate();
    await expect(c.getJson('/containers/gone/json')).rejects.toBeInstanceOf(DockerNotFoundError);
    await expect(c.getJson('/boom')).rejects.toThrow(DockerApiError);
    await expect(c.getJson('/boom')).rejects.toThrow(/server exploded/);
    c.close();
  });

  it('reports an unreachable engine with the endpoint it tried', async () => {
    const c = new DockerClient({ socketPath: join(dir, 'missing.sock'), display: 'unix:///nowhere.sock' });
    const err = await c.negotiate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DockerUnreachableError);
    expect((err as Error).message).toContain('unix:///nowhere.sock');
    c.close();
  });
});

describe('parseDockerHost', () => {
  it('accepts unix and tcp endpoints and names DOCKER_HOST in errors', () => {
    expect(parseDockerHost(undefined)).toEqual({ socketPath: '/var/run/docker.sock', display: 'unix:///var/run/docker.sock' });
    expect(parseDockerHost('tcp://127.0.0.1:2375')).toEqual({ host: '127.0.0.1', port: 2375, display: 'tcp://127.0.0.1:2375' });
    expect(parseDockerHost('ssh://x')).toMatch(/^DOCKER_HOST:/);
  });

  it('compares API versions numerically', () => {
    expect(compareApiVersions('1.9', '1.41')).toBeLessThan(0);
    expect(compareApiVersions('1.45', '1.45')).toBe(0);
  });
});
