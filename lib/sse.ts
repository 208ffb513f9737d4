/**
 * Reading a Server-Sent Events body (the API's live tail): yields each event's type and data.
 * Used by `shiplog logs -f`, the tests and the benchmarks.
 */
export interface SseEvent {
  /** `message` unless the event named another (`event: error`). */
  event: string;
  data: string;
  /** The event's `id:`, when it has one (the live tail's line position, for Last-Event-ID). */
  id?: string;
}

export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buf.indexOf('\n\n')) !== -1) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
        else if (line.startsWith('id: ')) id = line.slice(4);
      }
      // Comments (": keep-alive") carry no data.
      if (data.length) yield id === undefined ? { event, data: data.join('\n') } : { event, data: data.join('\n'), id };
    }
  }
}
