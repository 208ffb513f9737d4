/**
 * What a client gets when its request cannot even be parsed (Node answers before any route):
 * the API's own error body, not the HTTP framework's. The request line and headers may take
 * MAX_HEADER_BYTES: every request the API's schemas accept fits, even when each string
 * parameter is at its maxLength in percent-encoded 4-byte characters; a longer one is a 431.
 */
import type { Socket } from 'node:net';

export const MAX_HEADER_BYTES = 64 * 1024;

const ANSWERS: Record<string, { status: string; error: string; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: '431 Request Header Fields Too Large', error: 'request_too_large', message: `the request line and headers exceed ${MAX_HEADER_BYTES / 1024} KiB` },
  ERR_HTTP_REQUEST_TIMEOUT: { status: '408 Request Timeout', error: 'request_timeout', message: 'the request did not arrive whole in time' },
};
const MALFORMED = { status: '400 Bad Request', error: 'bad_request', message: 'the request is not valid HTTP' };

/** fastify's clientErrorHandler: answer in the API's shape when the socket can still take it, then close. */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const a = ANSWERS[err.code ?? ''] ?? MALFORMED;
  const body = JSON.stringify({ error: a.error, message: a.message });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${a.status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
