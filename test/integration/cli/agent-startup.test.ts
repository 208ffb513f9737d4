/** Start-up failures of `shiplog agent` are one clear message naming what to change. */
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { CLI, tempDir } from '../../helpers/agent-process.js';

function agent(env: Record<string, string>) {
  const data = tempDir('shiplog-startup-');
  try {
    return spawnSync(process.execPath, [CLI, 'agent'], {
      env: { PATH: process.env.PATH, SHIPLOG_DATA_DIR: data.dir, SHIPLOG_AGENT_PORT: '0', SHIPLOG_AGENT_ADDRESS: '127.0.0.1', ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
  } finally {
    data.cleanup();
  }
}

describe('shiplog agent start-up', () => {
  it('names where it looked for Docker and how to point elsewhere', () => {
    const r = agent({ DOCKER_HOST: 'unix:///nonexistent/docker.sock', SHIPLOG_KAFKA_BROKERS: '127.0.0.1:1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('cannot reach the Docker engine at unix:///nonexistent/docker.sock');
    expect(r.stderr).toContain('Set DOCKER_HOST');
  });

  // Needs a user who is not in the socket's group: root runs the test as nobody.
  it.runIf(process.getuid?.() === 0)('a user who may not open the socket is told about the docker group, not DOCKER_HOST', () => {
    const data = tempDir('shiplog-startup-');
    chmodSync(data.dir, 0o777);
    try {
      const sock = (inject('dockerHost') as string).replace(/^unix:\/\//, '');
      const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, CLI, 'agent'], {
        env: { PATH: process.env.PATH, DOCKER_HOST: `unix://${sock}`, SHIPLOG_KAFKA_BROKERS: '127.0.0.1:1', SHIPLOG_DATA_DIR: data.dir, SHIPLOG_AGENT_PORT: '0', SHIPLOG_AGENT_ADDRESS: '127.0.0.1' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status).toBe(1);
      expect(r.stdout + r.stderr).toContain('EACCES');
      expect(r.stdout + r.stderr).toContain('add it to the docker group');
    } finally {
      data.cleanup();
    }
  });

  it('stops on invalid settings, naming each one', () => {
    const r = agent({ SHIPLOG_KAFKA_BROKERS: 'nope', SHIPLOG_MAX_LINE_BYTES: 'huge' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('SHIPLOG_KAFKA_BROKERS: "nope" is not host:port');
    expect(r.stderr).toContain('SHIPLOG_MAX_LINE_BYTES: "huge" is not a size');
  });

  it('maps flags onto settings and rejects unknown arguments', () => {
    const bad = spawnSync(process.execPath, [CLI, 'agent', 'stray'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unexpected argument "stray"');
    const flag = spawnSync(process.execPath, [CLI, 'agent', '--kafka-brokers', 'bad'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('SHIPLOG_KAFKA_BROKERS: "bad" is not host:port');
  });
});
