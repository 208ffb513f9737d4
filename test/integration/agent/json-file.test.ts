/**
 * File mode's decoder against the real thing: a container's `json-file` log, read from the file
 * Docker writes (its LogPath) through JsonFileDecoder and the line assembler, gives exactly the
 * lines — stream, timestamp, bytes, 16 KiB partials joined — that the Engine API's stream gives
 * through the agent's own decoder. A cursor from one path therefore means the same in the other.
 */
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { LineAssembler, type Line } from '../../../agent/docker/assemble-lines.js';
import { DockerClient } from '../../../agent/docker/client.js';
import { MultiplexedDecoder, STDERR, STDOUT, type LogEntry } from '../../../agent/docker/decode-frames.js';
import { JsonFileDecoder } from '../../../agent/files/json-file.js';
import { runCleanups } from '../../helpers/cleanup.js';
import { dockerApi, removeContainers, runContainer, waitExit } from '../../helpers/docker.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  await runCleanups(cleanups);
});

/** Lines from entries, as the agent assembles them (maxLineBytes 1 MiB, no TTY). */
function assembler() {
  const lines: { stream: number; ts: string; hex: string; cursor: string }[] = [];
  const sink = (l: Line) => lines.push({ stream: l.stream, ts: l.ts, hex: l.msg.toString('hex'), cursor: JSON.stringify(l.cursor) });
  const out = new LineAssembler(STDOUT, 1 << 20, false);
  const err = new LineAssembler(STDERR, 1 << 20, false);
  return {
    lines,
    entry: (e: LogEntry) => (e.stream === STDERR ? err.push(e, sink) : out.push(e, sink)),
    end: () => {
      out.flush(sink);
      err.flush(sink);
    },
  };
}

describe('json-file read from the file', () => {
  it('gives the lines the Engine API gives: bytes, streams, timestamps, partials joined', async () => {
    const c = await runContainer({
      script: `echo plain; printf 'tab\\there\\r\\n'; echo 'ünïcödé 日本 "quoted" \\\\ back'; echo; echo 'to stderr' >&2; head -c 40000 /dev/zero | tr '\\0' 'y'; echo; printf 'no newline at the end'`,
    });
    cleanups.push(() => removeContainers([c.id]));
    expect(await waitExit(c.id)).toBe(0);

    const info = await dockerApi<{ LogPath: string; HostConfig: { LogConfig: { Type: string } } }>(`/containers/${c.id}/json`);
    expect(info.HostConfig.LogConfig.Type).toBe('json-file');
    const fromFile = assembler();
    const dec = new JsonFileDecoder();
    const bad: string[] = [];
    const bytes = readFileSync(info.LogPath);
    // Read in small chunks, as a tail would.
    for (let i = 0; i < bytes.length; i += 4096) dec.push(bytes.subarray(i, i + 4096), fromFile.entry, (l) => bad.push(l));
    fromFile.end();
    expect(bad).toEqual([]);
    expect(dec.offset).toBe(bytes.length);

    const fromApi = assembler();
    const docker = new DockerClient({ socketPath: inject('dockerHost').replace(/^unix:\/\//, ''), display: 'test' });
    cleanups.push(() => docker.close());
    await docker.negotiate();
    const res = await docker.stream(`/containers/${c.id}/logs`, { stdout: true, stderr: true, timestamps: true, follow: false });
    const mux = new MultiplexedDecoder();
    for await (const chunk of res) mux.push(chunk as Buffer, fromApi.entry);
    fromApi.end();

    expect(fromFile.lines.length).toBe(7);
    expect(fromFile.lines).toEqual(fromApi.lines);
    const big = fromFile.lines.find((l) => l.hex.length === 80_000);
    expect(big, 'the 40,000-byte line, joined from its 16 KiB pieces').toBeDefined();
  });
});
