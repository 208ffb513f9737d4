/**
 * Reading a Server-Sent Events body (the API's live tail): each event's type, data and id.
 * Used by `shiplog logs -f`, the web page, the tests and the benchmarks. No Node API here:
 * the web page bundles this file too.
 */
export interface SseEvent {
  /** `message` unless the event named another (`event: error`). */
  event: string;
  data: string;
  /** The event's `id:`, when it has one (the live tail's line position, for Last-Event-ID). */
  id?: string;
}

/** Takes the body's text as it arrives and returns the events it completes (one pass over each chunk). */
export class SseParser {
  private buf = '';

  push(text: string): SseEvent[] {
    this.buf += text;
    const events: SseEvent[] = [];
    let at = 0;
    let end: number;
    while ((end = this.buf.indexOf('\n\n', at)) !== -1) {
      const block = this.buf.slice(at, end);
      at = end + 2;
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        // A field is "name: value" (the space is optional); comments (": keep-alive") carry none.
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const value = line.slice(line[colon + 1] === ' ' ? colon + 2 : colon + 1);
        const name = line.slice(0, colon);
        if (name === 'event') event = value;
        else if (name === 'data') data.push(value);
        else if (name === 'id') id = value;
      }
      if (data.length) events.push(id === undefined ? { event, data: data.join('\n') } : { event, data: data.join('\n'), id });
    }
    this.buf = this.buf.slice(at);
    return events;
  }
}

export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const parser = new SseParser();
  for await (const chunk of body) yield* parser.push(decoder.decode(chunk, { stream: true }));
}
