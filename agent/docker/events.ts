/**
 * Container lifecycle events from GET /events, as a stream of parsed objects. The caller
 * reconnects (with backoff) when the stream ends, e.g. because dockerd restarted.
 */
import type { IncomingMessage } from 'node:http';
import type { DockerClient } from './client.js';

export interface DockerEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

export interface EventStream {
  /** Settles when the stream ends: with the error that broke it, if one did. */
  done: Promise<Error | undefined>;
  close(): void;
}

/** Opens the event stream (container events only) and calls onEvent for each event, in order. */
export async function watchEvents(
  docker: DockerClient,
  since: string | undefined,
  onEvent: (e: DockerEvent) => void,
  onBadLine: (line: string) => void,
): Promise<EventStream> {
  const res: IncomingMessage = await docker.stream('/events', {
    since,
    filters: JSON.stringify({ type: ['container'] }),
  });
  let rest = '';
  const done = new Promise<Error | undefined>((resolve) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf('\n')) !== -1) {
        const line = rest.slice(0, nl).trim();
        rest = rest.slice(nl + 1);
        if (line === '') continue;
        let e: DockerEvent;
        try {
          e = JSON.parse(line) as DockerEvent;
        } catch {
          onBadLine(line);
          continue;
        }
        onEvent(e);
      }
    });
    res.on('end', () => resolve(undefined));
    res.on('error', (err) => resolve(err));
    res.on('close', () => resolve(undefined));
  });
  return { done, close: () => res.destroy() };
}
