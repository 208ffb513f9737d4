/**
 * No gap, no duplicate across restarts: the agent killed with SIGKILL mid-stream (including
 * right after Kafka acknowledged and before the checkpoint was written), and containers
 * restarted, renamed, or started after the agent.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { leftovers, scopedAgents } from '../../helpers/agent-process.js';
import { docker, runContainer, waitExit } from '../../helpers/docker.js';
import { sameLines, seqLines, streamOf } from '../../helpers/expect-lines.js';
import { linesByContainer, readTopic, waitFor } from '../../helpers/kafka-read.js';

const { agents, created, cleanups } = leftovers();

function setup() {
  // Small batches: many acknowledgements, so kills land between them.
  return scopedAgents({ SHIPLOG_BATCH_BYTES: '16KiB', SHIPLOG_BATCH_LINGER: '20ms' }, agents, cleanups);
}

/** A container that prints `${tag}-1 .. ${tag}-${blocks*1000}` in blocks, pausing between them. */
const paced = (tag: string, blocks: number, pause: string) =>
  `b=0; while [ $b -lt ${blocks} ]; do seq $((b*1000+1)) $((b*1000+1000)) | sed 's/^/${tag}-/'; b=$((b+1)); sleep ${pause}; done`;

describe('agent restarts', () => {
  it('SIGKILL mid-stream, also right after an ack and before its checkpoint: every line exactly once', async () => {
    const t = setup();
    // First agent dies by itself right after its 5th acknowledgement, before writing the checkpoint.
    let agent = await t.start({ SHIPLOG_FAULT_KILL_AFTER_ACKS: '5' });
    const a = await runContainer({ script: paced('a', 30, '0.2'), labels: t.scope.labels });
    const b = await runContainer({ script: `${paced('b', 30, '0.2')} >&2`, tty: true, labels: t.scope.labels });
    const c = await runContainer({ script: `${paced('c', 30, '0.2')} >&2`, labels: t.scope.labels });
    created.push(a.id, b.id, c.id);
    await agent.exited;
    expect(agent.proc.signalCode).toBe('SIGKILL');
    // Second agent: recovers the unrecorded acknowledgement from Kafka, then is killed by us mid-stream.
    agent = await t.start();
    await waitFor(async () => (await agent.metric('shiplog_agent_lines_shipped_total')) > 5000, 60_000, 'progress').catch(async (err: Error) => {
      const shipped = await agent.metric('shiplog_agent_lines_shipped_total').catch(() => NaN);
      throw new Error(`${err.message} (${shipped} shipped); the agent said:\n${agent.output().split('\n').slice(-40).join('\n')}`);
    });
    expect(agent.output()).toContain('moved checkpoints forward from records acknowledged before the last stop');
    await agent.kill();
    await new Promise((r) => setTimeout(r, 700));
    agent = await t.start();
    await Promise.all([waitExit(a.id), waitExit(b.id), waitExit(c.id)]);
    const want = new Map([
      [a.id, { stdout: seqLines('a-', 1, 30_000), stderr: [] as Buffer[] }],
      [b.id, { stdout: seqLines('b-', 1, 30_000), stderr: [] }],
      [c.id, { stdout: [], stderr: seqLines('c-', 1, 30_000) }],
    ]);
    await waitFor(async () => {
      const by = linesByContainer(await readTopic(t.topic));
      return [...want.keys()].every((id) => (by.get(id)?.lines.length ?? 0) >= 30_000);
    }, 90_000, 'all lines in Kafka');
    await agent.stop();
    const by = linesByContainer(await readTopic(t.topic));
    for (const [id, w] of want) {
      const got = by.get(id);
      sameLines(streamOf(got?.lines ?? [], 'stdout'), w.stdout, `${id.slice(0, 12)} stdout`);
      sameLines(streamOf(got?.lines ?? [], 'stderr'), w.stderr, `${id.slice(0, 12)} stderr`);
    }
  });

  it("keeps following through Docker's log rotation: no duplicates, no silence afterwards", async () => {
    const t = setup();
    const agent = await t.start();
    // ~40 rotations of a 64 KiB json-file while the agent follows, then a line after a pause.
    const c = await runContainer({
      script: `${paced('rot', 30, '0.1')}; sleep 1; echo after-rotation`,
      labels: t.scope.labels,
      logOpts: { 'max-size': '64k', 'max-file': '50' },
    });
    created.push(c.id);
    await waitExit(c.id);
    await waitFor(async () => {
      const by = linesByContainer(await readTopic(t.topic));
      return (by.get(c.id)?.lines ?? []).some((l) => l.bytes.toString() === 'after-rotation');
    }, 90_000, 'the line written after the rotations');
    await agent.stop();
    const lines = streamOf(linesByContainer(await readTopic(t.topic)).get(c.id)?.lines ?? [], 'stdout').map((b) => b.toString());
    const numbers = lines.filter((l) => l.startsWith('rot-')).map((l) => Number(l.slice(4)));
    // Docker 20.10's own follow reader replays parts of rotated files (skipped here, counted)
    // and can skip a whole rotated file (reproduced with curl on the raw API): what arrives
    // must be in order, once, and the stream must go on after the rotations.
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    // How much Docker's reader drops varies with load (0 to a few thousand of 30 k here, more
    // on a busy machine), so no count is asserted: lines from the rotated files arrive, and the
    // stream goes on afterwards. (Reading the files directly, issue 16, can make this exact.)
    expect(numbers.length).toBeGreaterThan(0);
    expect(lines[lines.length - 1]).toBe('after-rotation');
  });

  it('a restarted container does not resend its old lines; a renamed one is followed under its new name', async () => {
    const t = setup();
    const agent = await t.start();
    // Each run prints a block tagged with the run number (kept in the container's filesystem).
    const script = 'n=$(cat /tmp/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /tmp/n; seq 1 2000 | sed "s/^/run$n-/"';
    const r = await runContainer({ script, labels: t.scope.labels });
    created.push(r.id);
    await waitExit(r.id);
    await waitFor(async () => (await agent.metric('shiplog_agent_lines_shipped_total')) >= 2000, 30_000, 'first run shipped');
    await docker(['start', r.id]);
    await waitExit(r.id);
    await waitFor(async () => (await agent.metric('shiplog_agent_lines_shipped_total')) >= 4000, 30_000, 'second run shipped');

    const long = await runContainer({ script: 'echo before-rename; sleep 3; echo after-rename; sleep 1', labels: t.scope.labels });
    created.push(long.id);
    await waitFor(async () => (await agent.metric('shiplog_agent_lines_shipped_total')) >= 4001, 30_000, 'first line of the renamed container');
    const newName = `renamed-${randomUUID().slice(0, 8)}`;
    await docker(['rename', long.id, newName]);
    await waitExit(long.id);
    await waitFor(async () => (await agent.metric('shiplog_agent_lines_shipped_total')) >= 4002, 30_000, 'renamed container shipped');
    await agent.stop();

    const by = linesByContainer(await readTopic(t.topic));
    sameLines(streamOf(by.get(r.id)?.lines ?? [], 'stdout'), [...seqLines('run1-', 1, 2000), ...seqLines('run2-', 1, 2000)], 'restarted container');
    const recs = by.get(long.id)?.records ?? [];
    const nameOf = (text: string) => recs.find((rec) => rec.lines.some((l) => l.msg === text))?.container.name;
    expect(nameOf('before-rename')).toBe(long.name);
    expect(nameOf('after-rename')).toBe(newName);
  });
});
