/** Fills a fresh topic with real agent records from real containers, for collector tests. */
import { randomUUID } from 'node:crypto';
import { startAgent, tempDir } from './agent-process.js';
import { removeContainers, runContainer, testScope, waitExit, type ContainerSpec } from './docker.js';
import { waitFor } from './kafka-read.js';

export interface Shipped {
  prefix: string;
  topic: string;
  containers: { id: string; name: string }[];
  cleanup(): Promise<void>;
}

export async function shipContainers(specs: ContainerSpec[], expectedLines: number, extraEnv: Record<string, string> = {}): Promise<Shipped> {
  const scope = testScope();
  const prefix = `t-${randomUUID()}`;
  const data = tempDir('shiplog-agent-');
  const agent = await startAgent({
    SHIPLOG_DATA_DIR: data.dir,
    SHIPLOG_KAFKA_TOPIC_PREFIX: prefix,
    SHIPLOG_INCLUDE_LABELS: `${scope.label}=${scope.value}`,
    ...extraEnv,
  });
  const containers: { id: string; name: string }[] = [];
  try {
    for (const s of specs) containers.push(await runContainer({ ...s, labels: { ...s.labels, ...scope.labels } }));
    for (const c of containers) await waitExit(c.id);
    // As long as it makes progress: a loaded CI machine (image builds, a fuzz run beside) can
    // take minutes for what an idle one ships in seconds. Stalled for a minute is a failure.
    let last = -1;
    let movedAt = Date.now();
    await waitFor(async () => {
      const n = await agent.metric('shiplog_agent_lines_shipped_total');
      if (n !== last) [last, movedAt] = [n, Date.now()];
      if (Date.now() - movedAt > 60_000) throw new Error(`shipping stalled at ${n} of ${expectedLines} lines for 60 s`);
      return n >= expectedLines;
    }, 600_000, `${expectedLines} lines shipped`);
  } finally {
    await agent.stop();
    data.cleanup();
  }
  return { prefix, topic: `${prefix}.logs`, containers, cleanup: () => removeContainers(containers.map((c) => c.id)) };
}
