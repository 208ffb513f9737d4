/**
 * The host every record carries: by default the name Docker gives its machine, not the agent's
 * own host name (in a container that is the container's id; compose used to stamp one name on
 * every host). The agent runs in a UTS namespace of its own with another host name, as it does
 * in a container; SHIPLOG_HOSTNAME still wins.
 */
import { describe, expect, it } from 'vitest';
import { leftovers, scopedAgents } from '../../helpers/agent-process.js';
import { docker, runContainer, waitExit } from '../../helpers/docker.js';
import { linesByContainer, readTopic, waitFor } from '../../helpers/kafka-read.js';

const { agents, created, cleanups } = leftovers();

/** Runs the agent with its own host name, as a container would have it. */
const OWN_UTS = ['unshare', '--uts', 'sh', '-c', 'hostname agent-own-name && exec "$0" "$@"'];

async function hostsOf(env: Record<string, string>): Promise<{ logs: string[]; agentSays: string; info: string[] }> {
  const t = scopedAgents(env, agents, cleanups);
  const agent = await t.start({}, OWN_UTS);
  const c = await runContainer({ script: 'echo one; echo two', labels: t.scope.labels });
  created.push(c.id);
  await waitExit(c.id);
  await waitFor(async () => (linesByContainer(await readTopic(t.topic)).get(c.id)?.lines.length ?? 0) >= 2, 60_000, 'the lines in Kafka');
  // The host the agent names in /metrics (what the agent-down alert says and inhibits by).
  const info = [...(await agent.metrics()).matchAll(/^shiplog_agent_info\{host="([^"]*)"\} 1$/gm)].map((m) => m[1] as string);
  await agent.stop();
  const records = linesByContainer(await readTopic(t.topic)).get(c.id)?.records ?? [];
  return { logs: [...new Set(records.map((r) => r.host))], agentSays: agent.output(), info };
}

describe('the host on records', () => {
  it("is the engine's name by default, not the agent's own host name", async () => {
    const engine = await docker(['info', '--format', '{{.Name}}']);
    expect(engine).not.toBe('agent-own-name');
    const { logs, agentSays, info } = await hostsOf({});
    expect(logs).toEqual([engine]);
    expect(agentSays).toContain(`"host":"${engine}"`);
    expect(info).toEqual([engine]);
  });

  it('is SHIPLOG_HOSTNAME when set', async () => {
    const { logs, info } = await hostsOf({ SHIPLOG_HOSTNAME: 'set-by-operator' });
    expect(logs).toEqual(['set-by-operator']);
    expect(info).toEqual(['set-by-operator']);
  });
});
