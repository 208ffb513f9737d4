/**
 * Agent throughput, measured against the ceilings of the same machine in the same run:
 *   1. baselines: dockerd serving one finished container's log over the API to a minimal
 *      reader (curl --unix-socket ... | wc -l): the most any API-based agent can read; and the
 *      same log's json-file read by `wc -l`: the most a file reader can;
 *   2. the agent reading the same log and shipping it to Kafka (acks=all), once through the
 *      Engine API (SHIPLOG_DOCKER_LOGS=api) and once from the file (files): lines/s, CPU seconds
 *      per million lines, peak RSS, and dockerd's own CPU while the agent read.
 *   3. Kafka's own producer (ProducerPerformance) sending records like the agent's of the same
 *      lines with the agent's settings: the most any agent could ship here.
 * Prints a table and writes bench/results/agent-throughput.json (the API mode, the flood
 * scenario) and bench/results/agent-files.json (both modes side by side). BENCH_LINES: 2 M.
 *
 * Uses DOCKER_HOST / SHIPLOG_KAFKA_BROKERS when set, else starts private ones (test/env).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { encodeHeader, encodeLineInto, encodeRecord } from '../agent/ship/record.js';
import { IMAGE, dockerdPid, procStat, sh } from './lib/env.js';
import { kafkaProducerRecordsPerSec } from './lib/kafka.js';

const root = resolve(import.meta.dirname, '../..');
const LINES = Number(process.env.BENCH_LINES ?? 2_000_000);

async function main(): Promise<void> {
  const stops: (() => void)[] = [];
  try {
    let dockerHost = process.env.DOCKER_HOST ?? '';
    if (!dockerHost) {
      const d = mkdtempSync(join(tmpdir(), 'bench-dockerd-'));
      dockerHost = sh(`bash ${root}/test/env/docker.sh start ${d}`);
      stops.push(() => sh(`bash ${root}/test/env/docker.sh stop ${d}`));
    }
    let brokers = process.env.SHIPLOG_KAFKA_BROKERS ?? '';
    if (!brokers) {
      const d = mkdtempSync(join(tmpdir(), 'bench-kafka-'));
      brokers = sh(`bash ${root}/test/env/kafka.sh start ${d} 29092`);
      stops.push(() => sh(`bash ${root}/test/env/kafka.sh stop ${d}`));
    }
    const denv = { ...process.env, DOCKER_HOST: dockerHost };
    const sock = dockerHost.replace('unix://', '');
    // A realistic access-log-like line (~120 bytes), numbered.
    const gen = `seq 1 ${LINES} | sed 's/^/127.0.0.1 - - [23\\/Nov\\/2026:16:00:00 +0000] "GET \\/api\\/v1\\/items?page=/; s/$/ HTTP\\/1.1" 200 5123 "-" "Mozilla\\/5.0 (X11; Linux x86_64)"/'`;
    const t0 = Date.now();
    const id = sh(`docker run -d --network none --label shiplog.bench=1 ${IMAGE} sh -c '${gen.replace(/'/g, "'\\''")}'`, denv);
    sh(`docker wait ${id}`, denv);
    const genSec = (Date.now() - t0) / 1000;

    // 1. Baseline: dockerd -> curl -> wc -l
    const b0 = process.hrtime.bigint();
    const counted = Number(sh(`curl -s --unix-socket ${sock} "http://d/containers/${id}/logs?stdout=1&stderr=1&timestamps=1" | wc -l`));
    const baseSec = Number(process.hrtime.bigint() - b0) / 1e9;

    // The json-file itself, read by wc -l: a file reader's ceiling.
    const logPath = sh(`docker inspect --format '{{.LogPath}}' ${id}`, denv);
    const f0 = process.hrtime.bigint();
    const fileLines = Number(sh(`wc -l < ${logPath}`));
    const fileSec = Number(process.hrtime.bigint() - f0) / 1e9;
    const dpid = dockerdPid(dockerHost);

    // Kafka's own producer sending records like the agent's of these lines: the most any agent can ship.
    const kafka = agentLikeRecords(LINES);
    const kdir = mkdtempSync(join(tmpdir(), 'bench-kafka-perf-'));
    stops.push(() => rmSync(kdir, { recursive: true, force: true }));
    const kafkaRecordsPerSec = await kafkaProducerRecordsPerSec(brokers, sh(`bash ${root}/test/env/kafka.sh jars`), kdir, `bench-ceiling-${randomUUID().slice(0, 8)}`, kafka.values);
    const kafkaLinesPerSec = Math.round(kafkaRecordsPerSec * kafka.linesPerRecord);

    // 2. The agent, from an empty data dir, reading the whole log (SHIPLOG_BACKLOG=all), each way.
    const runAgent = async (mode: 'api' | 'files') => {
      const data = mkdtempSync(join(tmpdir(), 'bench-agent-'));
      stops.push(() => rmSync(data, { recursive: true, force: true }));
      const prefix = `bench-${randomUUID().slice(0, 8)}`;
      // e.g. BENCH_AGENT_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the agent.
      const nodeArgs = (process.env.BENCH_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean);
      // dockerd may still be busy with the previous run's requests: start once it is quiet.
      await dockerdQuiet(dpid);
      const a0 = process.hrtime.bigint();
      const d0 = procStat(dpid).cpuSec;
      const agent = spawn(process.execPath, [...nodeArgs, join(root, 'dist/cli/shiplog.js'), 'agent'], {
        env: {
          NODE_OPTIONS: nodeOptions,
          PATH: process.env.PATH, DOCKER_HOST: dockerHost, SHIPLOG_KAFKA_BROKERS: brokers, SHIPLOG_DATA_DIR: data,
          SHIPLOG_KAFKA_TOPIC_PREFIX: prefix, SHIPLOG_BACKLOG: 'all', SHIPLOG_INCLUDE_LABELS: 'shiplog.bench=1',
          SHIPLOG_AGENT_PORT: '0', SHIPLOG_AGENT_ADDRESS: '127.0.0.1', SHIPLOG_PRINT_ADDRESS: '1', SHIPLOG_LOG_LEVEL: 'warn',
          SHIPLOG_KAFKA_PARTITIONS: '1', SHIPLOG_DOCKER_LOGS: mode, SHIPLOG_STATS_INTERVAL: '0',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      stops.push(() => agent.kill('SIGKILL'));
      const url = await new Promise<string>((res) => agent.stdout.on('data', (d: Buffer) => {
        const m = /listening (\S+)/.exec(d.toString());
        if (m) res(m[1] as string);
      }));
      let shipped = 0;
      while (shipped < LINES) {
        await new Promise((r) => setTimeout(r, 100));
        const text = await (await fetch(`${url}/metrics`)).text();
        shipped = 0;
        for (const m of text.matchAll(/^shiplog_agent_lines_shipped_total\{[^}]*\} (\d+)/gm)) shipped += Number(m[1]);
      }
      const sec = Number(process.hrtime.bigint() - a0) / 1e9;
      const st = procStat(agent.pid as number);
      const dockerdCpuSec = procStat(dpid).cpuSec - d0;
      agent.kill('SIGTERM');
      await new Promise((r) => agent.on('exit', r));
      return {
        linesPerSec: Math.round(LINES / sec),
        cpuSecPerMillionLines: Number(((st.cpuSec * 1e6) / LINES).toFixed(2)),
        coresAtThatRate: Number((st.cpuSec / sec).toFixed(2)),
        peakRssMiB: Math.round(st.hwmMiB),
        dockerdCpuSecPerMillionLines: Number(((dockerdCpuSec * 1e6) / LINES).toFixed(2)),
      };
    };
    // As the agent image runs it (deploy/Dockerfile); BENCH_AGENT_NODE_OPTIONS='' for bare Node.
    const nodeOptions = process.env.BENCH_AGENT_NODE_OPTIONS ?? '--max-semi-space-size=2';
    const api = await runAgent('api');
    const files = await runAgent('files');
    const apiCeiling = counted / baseSec;

    const commit = sh(`git -C ${root} rev-parse --short HEAD`);
    const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
    const result = {
      scenario: 'agent-throughput',
      date: new Date().toISOString(),
      commit,
      machine,
      lines: LINES,
      generatorLinesPerSec: Math.round(LINES / genSec),
      dockerReadLinesPerSec: Math.round(apiCeiling),
      agentLinesPerSec: api.linesPerSec,
      agentVsDockerRead: Number((api.linesPerSec / apiCeiling).toFixed(3)),
      agentCpuSecPerMillionLines: api.cpuSecPerMillionLines,
      agentCoresAtThatRate: api.coresAtThatRate,
      agentPeakRssMiB: api.peakRssMiB,
      nodeOptions,
      note: 'the agent reading through the Engine API (SHIPLOG_DOCKER_LOGS=api); its time includes its start-up (Kafka connect, topic creation)',
    };
    const filesResult = {
      scenario: 'agent-files',
      date: result.date,
      commit,
      machine,
      lines: LINES,
      ceilings: { dockerApiReadLinesPerSec: Math.round(apiCeiling), fileReadByWcLinesPerSec: Math.round(fileLines / fileSec), kafkaProducerLinesPerSec: kafkaLinesPerSec },
      api,
      files,
      filesVsApiCeiling: Number((files.linesPerSec / apiCeiling).toFixed(2)),
      nodeOptions,
      note: 'each agent run includes its start-up (Kafka connect, topic creation); Kafka acks=all, gzip level 1',
    };
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(join(root, 'bench/results/agent-throughput.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(root, 'bench/results/agent-files.json'), `${JSON.stringify(filesResult, null, 2)}\n`);
    console.table({
      'dockerd -> curl | wc -l (API ceiling)': { 'lines/s': result.dockerReadLinesPerSec },
      'wc -l on the json-file (file ceiling)': { 'lines/s': filesResult.ceilings.fileReadByWcLinesPerSec },
      'Kafka ProducerPerformance, agent-like records': { 'lines/s': kafkaLinesPerSec },
      'agent, API mode -> Kafka': { 'lines/s': api.linesPerSec, 'CPU s / M lines': api.cpuSecPerMillionLines, 'dockerd CPU s / M lines': api.dockerdCpuSecPerMillionLines, 'peak RSS MiB': api.peakRssMiB },
      'agent, files mode -> Kafka': { 'lines/s': files.linesPerSec, 'CPU s / M lines': files.cpuSecPerMillionLines, 'dockerd CPU s / M lines': files.dockerdCpuSecPerMillionLines, 'peak RSS MiB': files.peakRssMiB },
    });
    sh(`docker rm -f ${id}`, denv);
  } finally {
    for (const s of stops.reverse()) {
      try {
        s();
      } catch {
        // best effort
      }
    }
  }
}

/** Waits (up to 30 s) for half a second in which dockerd used under 2 % of a core. */
async function dockerdQuiet(pid: number): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const c0 = procStat(pid).cpuSec;
    await new Promise((r) => setTimeout(r, 500));
    if (procStat(pid).cpuSec - c0 < 0.01) return;
  }
}

/**
 * Records as the agent builds them (record.ts) of the bench's lines, 256 KiB each: the ~150
 * distinct ones ProducerPerformance cycles through (it holds its payloads in memory).
 */
function agentLikeRecords(lines: number): { values: string[]; linesPerRecord: number } {
  const meta = { id: 'b'.repeat(64), name: 'bench', image: IMAGE, imageId: '', labels: { 'shiplog.bench': '1' }, tty: false, running: false, env: [], created: '', startedAt: '', finishedAt: '', exitCode: 0, logDriver: 'json-file', logPath: '' };
  const header = Buffer.from(encodeHeader('bench-host', meta));
  const values: string[] = [];
  const block = Buffer.allocUnsafe(512 * 1024);
  let n = 0;
  while (values.length < 150 && n < lines) {
    let len = 0;
    let count = 0;
    let ts = '';
    while (len < 256 * 1024 - header.length && n < lines) {
      n++;
      ts = new Date(Date.UTC(2026, 10, 23, 16, 0, 0) + n / 100).toISOString().replace('Z', '000000Z');
      const msg = Buffer.from(`127.0.0.1 - - [23/Nov/2026:16:00:00 +0000] "GET /api/v1/items?page=${n} HTTP/1.1" 200 5123 "-" "Mozilla/5.0 (X11; Linux x86_64)"`);
      if (count++ > 0) block[len++] = 0x2c;
      len = encodeLineInto(block, len, { stream: 1, ts, msg, cursor: { ts, n: 1 }, split: false }, true);
    }
    values.push(encodeRecord(header, [block.subarray(0, len)], { stdout: { ts, n: 1 } }).toString('utf8'));
  }
  return { values, linesPerRecord: n / values.length };
}

await main();
