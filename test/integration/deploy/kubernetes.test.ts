/**
 * The Kubernetes manifest (deploy/kubernetes/shiplog.yaml) and the Helm chart
 * (deploy/helm/shiplog) validate: every object decodes strictly into the Kubernetes API's own Go
 * types (test/env/k8s-validate, k8s.io/api v0.37: unknown or misspelt fields, wrong types refused)
 * and passes the checks the API server makes on create (selectors select their pods, mounts and
 * probes name what exists). The chart passes `helm lint` and renders, with its defaults and with
 * every option set, objects that validate; it refuses to render without a ClickHouse URL or a
 * token Secret. Both are built by test/env/install-deps.sh into the test cache.
 * No cluster runs here: nothing is applied.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(process.env.SHIPLOG_TEST_CACHE ?? join(homedir(), '.cache/shiplog-test'), 'go-bin');
const HELM = join(BIN, 'helm-v3.22.0');
const VALIDATE = join(BIN, 'k8s-validate');
const CHART = join(ROOT, 'deploy/helm/shiplog');
const MANIFEST = join(ROOT, 'deploy/kubernetes/shiplog.yaml');

/** Runs the checker on YAML text; its output and whether it passed. */
async function validate(yaml: string): Promise<{ ok: boolean; out: string }> {
  return new Promise((res) => {
    const p = execFile(VALIDATE, ['-'], (err, stdout, stderr) => res({ ok: !err, out: `${stdout}${stderr}` }));
    p.stdin?.end(yaml);
  });
}

/** Every Kafka and ClickHouse security option of the chart. */
const KAFKA_SECURE = ['kafka.tls.enabled=true', 'kafka.tls.existingSecret=ktls', 'kafka.tls.certKey=tls.crt', 'kafka.tls.keyKey=tls.key', 'kafka.sasl.mechanism=scram-sha-512', 'kafka.sasl.username=shiplog', 'kafka.sasl.existingSecret=ksasl', 'clickhouse.tlsCaSecret=chca'].flatMap((v) => ['--set', v]);

async function helm(...args: string[]): Promise<{ ok: boolean; out: string }> {
  return run(HELM, args, { maxBuffer: 1 << 24 }).then(
    (r) => ({ ok: true, out: r.stdout }),
    (e: { stdout: string; stderr: string }) => ({ ok: false, out: `${e.stdout}${e.stderr}` }),
  );
}

describe('Kubernetes deployment files', () => {
  it('the checker refuses what the API server would: a misspelt field, a selector that selects nothing, a mount of no volume', async () => {
    const good = readFileSync(MANIFEST, 'utf8');
    expect((await validate(good)).ok).toBe(true);
    const bad = [
      good.replace('readOnlyRootFilesystem: true', 'readOnlyRootFileSystem: true'),
      good.replace('matchLabels: { app.kubernetes.io/name: shiplog, app.kubernetes.io/component: agent }', 'matchLabels: { app.kubernetes.io/name: shiplog, app.kubernetes.io/component: agents }'),
      good.replace('{ name: docker-sock, mountPath', '{ name: docker-socket, mountPath'),
      good.replace('replicas: 2', "replicas: '2'"),
      good.replace('type: DirectoryOrCreate', 'type: DirOrCreate'),
    ];
    for (const b of bad) {
      expect(b).not.toBe(good);
      expect((await validate(b)).ok).toBe(false);
    }
  });

  it('deploy/kubernetes/shiplog.yaml: an agent DaemonSet and a collector Deployment that validate', async () => {
    const r = await validate(readFileSync(MANIFEST, 'utf8'));
    expect(r.out).toContain('ok apps/v1/DaemonSet shiplog-agent');
    expect(r.out).toContain('ok apps/v1/Deployment shiplog-collector');
    expect(r.out).toContain('ok v1/Service shiplog');
    expect(r.ok).toBe(true);
  });

  it('the Helm chart lints and renders objects that validate, with defaults and with every option', async () => {
    const lint = await helm('lint', '--strict', CHART);
    expect(lint.out).toContain('0 chart(s) failed');
    for (const set of [[], ['--set', 'clickhouse.existingSecret=ch', '--set', 'env.SHIPLOG_LOG_LEVEL=debug', '--set', 'agent.env.SHIPLOG_STATS_INTERVAL=30s', '--set', 'collector.env.SHIPLOG_RETENTION_DAYS=7', '--set', 'agent.dockerRoot=/srv/docker', '--set', 'collector.replicas=3', '--set', 'agent.nodeSelector.role=docker', ...KAFKA_SECURE]]) {
      const t = await helm('template', 'rel', CHART, '--namespace', 'logs', ...set);
      expect(t.ok, t.out).toBe(true);
      const v = await validate(t.out);
      expect(v.ok, v.out).toBe(true);
      expect(v.out).toContain('ok apps/v1/DaemonSet rel-shiplog-agent');
      expect(v.out).toContain('ok apps/v1/Deployment rel-shiplog-collector');
      if (set.length) {
        expect(t.out).toContain('mountPath: "/srv/docker/containers"');
        expect(t.out).toContain('secretKeyRef: { name: "ch", key: "password" }');
        expect(t.out).toContain('replicas: 3');
        // Kafka TLS and SASL from Secrets, in both the agent and the collector; ClickHouse's CA.
        expect(t.out.split('value: "/etc/shiplog/kafka-tls/tls.key"').length - 1).toBe(2);
        expect(t.out.split('secretKeyRef: { name: "ksasl", key: "password" }').length - 1).toBe(2);
        expect(t.out.split('secret: { secretName: "ktls" }').length - 1).toBe(2);
        expect(t.out).toContain('value: "/etc/shiplog/clickhouse-tls/ca.crt"');
      }
    }
    // The node's own name as the host name, as in the plain manifest.
    expect((await helm('template', 'rel', CHART)).out).toContain('fieldPath: spec.nodeName');
  });

  it('the chart refuses to render without what a collector cannot run without', async () => {
    const saslNoSecret = await helm('template', 'rel', CHART, '--set', 'kafka.sasl.mechanism=scram-sha-512', '--set', 'kafka.sasl.username=u');
    expect(saslNoSecret.ok).toBe(false);
    expect(saslNoSecret.out).toContain('kafka.sasl.existingSecret is required');
    const noUrl = await helm('template', 'rel', CHART, '--set', 'clickhouse.url=');
    expect(noUrl.ok).toBe(false);
    expect(noUrl.out).toContain('clickhouse.url is required');
    const noToken = await helm('template', 'rel', CHART, '--set', 'api.existingSecret=');
    expect(noToken.ok).toBe(false);
    expect(noToken.out).toContain('api.existingSecret is required');
  });
});
