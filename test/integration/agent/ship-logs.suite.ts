/**
 * The agent against the real dockerd and the real broker: every line of several containers
 * (TTY and not, stdout and stderr, a 1 MiB line, invalid UTF-8, ANSI, CRLF, empty lines)
 * arrives in Kafka once, in order per container and stream, byte-identical; records are
 * readable with kcat and valid against the JSON Schema. Run once per way of reading logs
 * (ship-logs.test.ts: json-file containers from their files; ship-logs-api.test.ts: all
 * through the Engine API); the `local`-driver container goes through the API in both.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, tempDir, type AgentProcess } from '../../helpers/agent-process.js';
import { removeContainers, runContainer, testScope, waitExit } from '../../helpers/docker.js';
import { sameLines, seqLines as seqRange, streamOf } from '../../helpers/expect-lines.js';
import { linesByContainer, readTopic, waitFor } from '../../helpers/kafka-read.js';

const seqLines = (prefix: string, n: number) => seqRange(prefix, 1, n);

/** Shell that prints the special lines every container ends with. */
const SPECIALS = [
  `printf '\\033[31mred\\033[0m plain\\n'`,
  `printf 'crlf line\\r\\n'`,
  `printf '\\n\\n'`,
  `printf '\\377\\376 invalid utf8 \\300\\n'`,
  `head -c 1048576 /dev/zero | tr '\\0' x; echo`,
  'echo last',
].join('; ');

/**
 * What the program printed. Docker's json-file driver stores lines as JSON strings, so it
 * replaces invalid UTF-8 with U+FFFD before anyone can read it; the `local` driver keeps the
 * bytes. The agent ships exactly what Docker hands out.
 */
const INVALID_UTF8 = Buffer.from([0xff, 0xfe, ...Buffer.from(' invalid utf8 '), 0xc0]);
const INVALID_UTF8_VIA_JSON_FILE = Buffer.from('\ufffd\ufffd invalid utf8 \ufffd');

const SPECIAL_LINES = (driver: 'local' | 'json-file') => [
  Buffer.from('\x1b[31mred\x1b[0m plain'),
  Buffer.from('crlf line\r'),
  Buffer.alloc(0),
  Buffer.alloc(0),
  driver === 'local' ? INVALID_UTF8 : INVALID_UTF8_VIA_JSON_FILE,
  Buffer.alloc(1048576, 'x'),
  Buffer.from('last'),
];

interface Expect {
  name: string;
  stdout: Buffer[];
  stderr: Buffer[];
}
const expected = new Map<string, Expect>();

/**
 * A container printing `lines` (printf escapes, e.g. \\t) under shiplog.multiline=java; `entries`
 * says how many consecutive lines make each shipped entry.
 */
function javaSpec(lines: string[], entries: number[]) {
  const real = lines.map((l) => l.replace(/\\t/g, '\t'));
  let at = 0;
  const stdout = entries.map((n) => Buffer.from(real.slice(at, (at += n)).join('\n')));
  return {
    script: lines.map((l) => `printf '${l}\\n'`).join('; '),
    tty: false,
    labels: { 'shiplog.multiline': 'java' },
    expect: (name: string): Expect => ({ name, stdout, stderr: [] }),
  };
}

export function shipLogsSuite(mode: 'files' | 'api'): void {
  const scope = testScope();
  const prefix = `t-${randomUUID()}`;
  const topic = `${prefix}.logs`;
  const data = tempDir('shiplog-agent-');
  let agent: AgentProcess;
  const created: string[] = [];

  beforeAll(async () => {
    agent = await startAgent({
      SHIPLOG_DATA_DIR: data.dir,
      SHIPLOG_KAFKA_TOPIC_PREFIX: prefix,
      SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}`,
      SHIPLOG_KAFKA_PARTITIONS: '3',
      SHIPLOG_DOCKER_LOGS: mode,
    });
    const specs: { script: string; tty: boolean; logDriver?: string; labels?: Record<string, string>; expect: (name: string) => Expect }[] = [
      {
        // non-TTY, both streams, local log driver (raw bytes)
        script: `seq 1 20000 | sed 's/^/out-a-/'; seq 1 5000 | sed 's/^/err-a-/' >&2; ${SPECIALS}`,
        tty: false,
        logDriver: 'local',
        expect: (name) => ({ name, stdout: [...seqLines('out-a-', 20000), ...SPECIAL_LINES('local')], stderr: seqLines('err-a-', 5000) }),
      },
      {
        // TTY: everything arrives as stdout, lines end in \r\n on the wire
        script: `seq 1 20000 | sed 's/^/out-b-/'; seq 1 5000 | sed 's/^/err-b-/' >&2; ${SPECIALS}`,
        tty: true,
        expect: (name) => ({ name, stdout: [...seqLines('out-b-', 20000), ...seqLines('err-b-', 5000), ...SPECIAL_LINES('json-file')], stderr: [] }),
      },
      {
        script: `seq 1 25000 | sed 's/^/only-stdout-/'`,
        tty: false,
        expect: (name) => ({ name, stdout: seqLines('only-stdout-', 25000), stderr: [] }),
      },
      {
        script: `seq 1 25000 | sed 's/^/only-stderr-/' >&2`,
        tty: false,
        expect: (name) => ({ name, stdout: [], stderr: seqLines('only-stderr-', 25000) }),
      },
      {
        // exits within a few milliseconds of starting
        script: 'echo quick-1; echo quick-2 >&2',
        tty: false,
        expect: (name) => ({ name, stdout: [Buffer.from('quick-1')], stderr: [Buffer.from('quick-2')] }),
      },
      // A logger's error line with the exception under it (logback's layout): one entry.
      javaSpec(
        ['2026-11-25 10:00:00.123 ERROR [main] c.e.App - request failed', 'java.lang.IllegalStateException: boom', '\\tat com.example.App.run(App.java:10)', 'Caused by: java.io.IOException: disk full', '\\t... 1 more', '2026-11-25 10:00:00.200 INFO  [main] c.e.App - next'],
        [5, 1],
      ),
      // The JVM's own uncaught exception: its trace is one entry between the lines around it.
      javaSpec(
        ['before', 'Exception in thread "main" java.lang.IllegalStateException: boom', '\\tat com.example.App.run(App.java:10)', '\\tat com.example.App.main(App.java:5)', 'Caused by: java.io.IOException: disk full', '\\tat com.example.Io.write(Io.java:3)', '\\t... 2 more', 'after'],
        [1, 6, 1],
      ),
    ];
    for (const s of specs) {
      const c = await runContainer({ script: s.script, tty: s.tty, logDriver: s.logDriver, labels: { ...scope.labels, ...s.labels } });
      created.push(c.id);
      expected.set(c.id, s.expect(c.name));
    }
    // Excluded the logspout way and the shiplog way: must not be shipped.
    const exclusions: { labels?: Record<string, string>; env?: Record<string, string> }[] = [{ labels: { 'shiplog.exclude': 'true' } }, { labels: { 'logspout.exclude': 'true' } }, { env: { LOGSPOUT: 'ignore' } }];
    for (const ex of exclusions) {
      const c = await runContainer({ script: 'echo excluded', labels: { ...scope.labels, ...ex.labels }, env: ex.env });
      created.push(c.id);
    }
    for (const id of created) await waitExit(id);
    const total = [...expected.values()].reduce((n, e) => n + e.stdout.length + e.stderr.length, 0);
    await waitFor(async () => (await agent.metric('shiplog_agent_lines_shipped_total')) >= total, 120_000, `${total} lines shipped`).catch(async (err) => {
      // Slow, or lines missing? The counts per container and what the agent warned about.
      const text = await agent.metrics();
      console.log(`shipped ${await agent.metric('shiplog_agent_lines_shipped_total')} of ${total}`, text.split('\n').filter((l) => /^shiplog_agent_(lines_(read|shipped)|log_file_events)_total/.test(l)).join('\n'));
      console.log(agent.output().split('\n').filter((l) => /"level":[456]0/.test(l)).slice(-15).join('\n'));
      throw err;
    });
  }, 240_000);

  afterAll(async () => {
    await agent?.stop();
    await removeContainers(created);
    data.cleanup();
  });

  describe(`agent ships container logs to Kafka (SHIPLOG_DOCKER_LOGS=${mode})`, () => {
    it(mode === 'files' ? 'reads json-file logs from their files' : 'reads every log through the Engine API', () => {
      expect(agent.output().includes('reading json-file container logs from their files')).toBe(mode === 'files');
    });

    it('delivers every line once, in order, byte-identical', async () => {
      const by = linesByContainer(await readTopic(topic));
      expect(by.size).toBe(expected.size);
      let total = 0;
      for (const [id, want] of expected) {
        const got = by.get(id);
        expect(got, `container ${want.name} shipped`).toBeDefined();
        sameLines(streamOf(got!.lines, 'stdout'), want.stdout, `${want.name} stdout`);
        sameLines(streamOf(got!.lines, 'stderr'), want.stderr, `${want.name} stderr`);
        total += want.stdout.length + want.stderr.length;
      }
      expect(total).toBeGreaterThanOrEqual(100_000);
    });

    it('keys every record by container id and stamps container metadata', async () => {
      const msgs = await readTopic(topic);
      expect(msgs.length).toBeGreaterThan(0);
      for (const m of msgs) {
        const rec = JSON.parse(m.value) as { host: string; container: { id: string; name: string; image: string; labels: Record<string, string> } };
        expect(m.key).toBe(rec.container.id);
        expect(rec.container.name).toBe(expected.get(rec.container.id)?.name);
        expect(rec.container.image).toBe('shiplog-test/busybox:latest');
        expect(rec.container.labels[scope.label]).toBe(scope.value);
        expect(rec.host.length).toBeGreaterThan(0);
      }
    });

    it('keeps Docker timestamps with nanoseconds, never decreasing within a stream', async () => {
      const by = linesByContainer(await readTopic(topic));
      for (const { lines } of by.values()) {
        for (const s of ['stdout', 'stderr'] as const) {
          const ts = lines.filter((l) => l.stream === s).map((l) => l.ts);
          for (const t of ts) expect(t).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/);
          for (let i = 1; i < ts.length; i++) expect((ts[i] as string) >= (ts[i - 1] as string)).toBe(true);
        }
      }
    });

    it('produces records that validate against the JSON Schema', async () => {
      const schema = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../schema/log-record.schema.json'), 'utf8')) as object;
      const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
      const msgs = await readTopic(topic);
      for (const m of msgs) {
        const ok = validate(JSON.parse(m.value));
        if (!ok) expect.fail(`record at ${m.partition}/${m.offset} invalid: ${JSON.stringify(validate.errors)}`);
      }
      // Invalid UTF-8 travels as base64 of the exact bytes.
      expect(msgs.some((m) => m.value.includes('"msg_b64"'))).toBe(true);
    });

    it('skips containers excluded by label or LOGSPOUT=ignore', async () => {
      const msgs = await readTopic(topic);
      expect(msgs.some((m) => m.value.includes('"excluded"'))).toBe(false);
      expect(await agent.metric('shiplog_agent_containers_excluded')).toBeGreaterThanOrEqual(3);
    });

    it('reports its work on /metrics and /healthz', async () => {
      const health = (await (await fetch(`${agent.url}/healthz`)).json()) as { status: string; docker: string };
      expect(health.status).toBe('ok');
      expect(await agent.metric('shiplog_agent_lines_read_total', { stream: 'stderr' })).toBe(30_001);
      expect(await agent.metric('shiplog_agent_produce_duration_seconds_count')).toBeGreaterThan(0);
      // The one invalid line that Docker stored as it was (local driver).
      expect(await agent.metric('shiplog_agent_invalid_utf8_lines_total')).toBe(1);
      expect(await agent.metric('shiplog_agent_multiline_lines_merged_total')).toBe(5 + 4); // the JVM trace's 5 continuation lines, the logback entry's 4
      expect(await agent.metric('shiplog_agent_checkpoint_writes_total')).toBeGreaterThan(0);
    });
  });
}
