/**
 * What every benchmark needs: the real components (from env or started privately with the
 * test scripts), shiplog processes, /proc readings, and results written with machine info.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '../../..');
export const IMAGE = 'shiplog-test/busybox:latest';

export function sh(cmd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync('bash', ['-c', cmd], { env, encoding: 'utf8', maxBuffer: 1 << 26 }).trim();
}

/** The same without blocking the event loop (for benchmarks that read a stream meanwhile). */
/** The pid of the dockerd behind DOCKER_HOST (test/env/docker.sh writes docker.pid beside its socket), else the machine's. */
export function dockerdPid(dockerHost: string): number {
  const sock = dockerHost.replace(/^unix:\/\//, '');
  try {
    return Number(readFileSync(join(dirname(sock), 'docker.pid'), 'utf8').trim());
  } catch {
    return Number(sh('pgrep -x dockerd || true').split('\n')[0]) || 0;
  }
}

export function shAsync(cmd: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', cmd], { env, encoding: 'utf8', maxBuffer: 1 << 26 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
  });
}

export interface BenchEnv {
  dockerHost: string;
  brokers: string;
  kafkaJars: string;
  denv: NodeJS.ProcessEnv;
  cleanup(): void;
  tmp(prefix: string): string;
}

export function benchEnv(opts: { docker: boolean; kafka: boolean }): BenchEnv {
  const stops: (() => void)[] = [];
  let dockerHost = process.env.DOCKER_HOST ?? '';
  if (opts.docker && !dockerHost) {
    const d = mkdtempSync(join(tmpdir(), 'bench-dockerd-'));
    dockerHost = sh(`bash ${root}/test/env/docker.sh start ${d}`);
    stops.push(() => sh(`bash ${root}/test/env/docker.sh stop ${d}`));
  }
  let brokers = process.env.SHIPLOG_KAFKA_BROKERS ?? '';
  if (opts.kafka && !brokers) {
    const d = mkdtempSync(join(tmpdir(), 'bench-kafka-'));
    brokers = sh(`bash ${root}/test/env/kafka.sh start ${d} ${30000 + Math.floor(Math.random() * 5000) * 2}`);
    stops.push(() => sh(`bash ${root}/test/env/kafka.sh stop ${d}`));
  }
  const kafkaJars = sh(`bash ${root}/test/env/kafka.sh jars`);
  return {
    dockerHost,
    brokers,
    kafkaJars,
    denv: { ...process.env, DOCKER_HOST: dockerHost },
    tmp(prefix) {
      const d = mkdtempSync(join(tmpdir(), prefix));
      stops.push(() => rmSync(d, { recursive: true, force: true }));
      return d;
    },
    cleanup() {
      for (const s of stops.reverse()) {
        try {
          s();
        } catch {
          // best effort
        }
      }
    },
  };
}

export interface ShiplogProc {
  proc: ChildProcess;
  url: string;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  metricsText(): Promise<string>;
  stop(): Promise<void>;
}

/** nodeArgs: flags for node itself, e.g. --cpu-prof (not allowed in NODE_OPTIONS). */
export async function startShiplog(cmd: 'agent' | 'collector' | 'up', env: Record<string, string>, nodeArgs: string[] = []): Promise<ShiplogProc> {
  const proc = spawn(process.execPath, [...nodeArgs, join(root, 'dist/cli/shiplog.js'), cmd], {
    env: {
      PATH: process.env.PATH,
      SHIPLOG_PRINT_ADDRESS: '1',
      SHIPLOG_LOG_LEVEL: 'warn',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      SHIPLOG_AGENT_PORT: '0',
      SHIPLOG_AGENT_ADDRESS: '127.0.0.1',
      SHIPLOG_HTTP_PORT: '0',
      SHIPLOG_HTTP_ADDRESS: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) res(m[1] as string);
    });
    proc.on('exit', (code) => rej(new Error(`${cmd} exited with ${code}`)));
  });
  const metricsText = async () => (await fetch(`${url}/metrics`)).text();
  return {
    proc,
    url,
    metricsText,
    async metric(name, labels = {}) {
      return metricValue(await metricsText(), name, labels);
    },
    async stop() {
      if (proc.exitCode !== null) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await done;
    },
  };
}

/** The sum of a metric's series in an exposition text whose labels include `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** CPU seconds (user + system) and peak RSS of a process, from /proc. */
export function procStat(pid: number): { cpuSec: number; hwmMiB: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = /VmHWM:\s+(\d+)/.exec(status);
  const rss = /VmRSS:\s+(\d+)/.exec(status);
  return { cpuSec: ticks / 100, hwmMiB: Number(hwm?.[1] ?? 0) / 1024, rssMiB: Number(rss?.[1] ?? 0) / 1024 };
}

/** A histogram's cumulative buckets by bound, summed over its label sets. */
function histogramBuckets(text: string, name: string): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm'))) {
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
  }
  return buckets;
}

/**
 * Quantile from a Prometheus histogram's cumulative buckets (linear inside a bucket); with
 * `before`, of what was observed between the two scrapes only.
 */
export function histogramQuantile(text: string, name: string, q: number, before?: string): number {
  const now = histogramBuckets(text, name);
  const then = before === undefined ? new Map<number, number>() : histogramBuckets(before, name);
  const buckets = [...now].map(([le, n]): [number, number] => [le, n - (then.get(le) ?? 0)]).sort((a, b) => a[0] - b[0]);
  const total = buckets[buckets.length - 1]?.[1] ?? 0;
  if (total === 0) return NaN;
  const want = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= want) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (want - prevCount)) / Math.max(1, count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

export function commit(): string {
  try {
    return sh(`git -C ${root} rev-parse --short HEAD`);
  } catch {
    return 'unknown';
  }
}

export function machine() {
  return { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
}

export function saveResult(scenario: string, figures: Record<string, unknown>): void {
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results', `${scenario}.json`), `${JSON.stringify({ scenario, date: new Date().toISOString(), commit: commit(), machine: machine(), ...figures }, null, 2)}\n`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the scenarios named on the command line (all by default) with the components they need. */
export async function runScenarios(all: Record<string, (env: BenchEnv) => Promise<void>>, needs: (chosen: string[]) => { docker: boolean; kafka: boolean }): Promise<void> {
  const chosen = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(all);
  const unknown = chosen.filter((c) => !all[c]);
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')} (${Object.keys(all).join(', ')})`);
  const env = benchEnv(needs(chosen));
  try {
    for (const c of chosen) {
      console.log(`\n== ${c}`);
      await (all[c] as (env: BenchEnv) => Promise<void>)(env);
    }
  } finally {
    env.cleanup();
  }
}
