import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';
import { newRequestID } from './request-id.js';

/**
 * Answers written on the raw socket, for what Node's HTTP parser refuses before Fastify ever sees a request: a
 * malformed request line (a raw 0xFF in the path), headers over 16 KiB, a client too slow to send its headers or
 * body. Fastify's default writes its own JSON shape; these carry the one envelope and an `x-request-id` like every
 * other non-2xx (docs/errors.md), and a `request` log line with that id, which Fastify's hook never writes for them:
 * the id a client quotes finds its line here too.
 */
export function rawErrorResponse(api: ApiError, log: FastifyBaseLogger): string {
  const id = newRequestID();
  log.info({ reqId: id, status: api.status, code: api.code }, 'request');
  const body = JSON.stringify(api.body(id));
  const headers = [
    `HTTP/1.1 ${api.status} ${STATUS_CODES[api.status] ?? 'Error'}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    `x-request-id: ${id}`,
    ...Object.entries(api.options.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    'connection: close',
  ];
  return `${headers.join('\r\n')}\r\n\r\n${body}`;
}

/** Fastify's `clientErrorHandler` (called with the instance as `this`): Node's client errors through the error table. */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  // A reset socket is gone; there is nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let api: ApiError;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    api = new ApiError('REQUEST_TIMEOUT', 'The request did not arrive in time; send it again, whole.');
  else if (error.code === 'HPE_HEADER_OVERFLOW')
    api = new ApiError('HEADERS_TOO_LARGE', 'The request headers are larger than this server accepts.');
  else api = new ApiError('BAD_REQUEST', 'The request is not well-formed HTTP.');
  if (!socket.writable) {
    socket.destroy(error);
    return;
  }
  socket.end(rawErrorResponse(api, this.log));
}

/**
 * Caps the TCP connections one client address may hold, so a client that opens sockets and sends nothing (or
 * dribbles a body) costs bounded memory and descriptors: past the cap a new connection gets 429 and is closed.
 * Behind a reverse proxy every connection comes from the proxy: set the cap to 0 there and cap at the proxy.
 */
export function capConnectionsPerAddress(server: Server, max: number, log: FastifyBaseLogger): void {
  if (max === 0) return;
  const open = new Map<string, number>();
  // Before Node's own listener, so a refused socket is answered before any request on it is parsed.
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = open.get(address) ?? 0;
    if (count >= max) {
      const api = new ApiError('TOO_MANY_CONNECTIONS', `At most ${max} open connections per client address.`, {
        headers: { 'retry-after': '1' },
      });
      refuse(socket, rawErrorResponse(api, log));
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  });
}

/**
 * Answers a socket that Node's HTTP server must never serve. Node attaches its parser in its own 'connection'
 * listener, after ours; once that has run (a microtask later, before any data can arrive) its listeners are
 * taken off, so no request on this socket reaches a route. Whatever the client sends is read and dropped (closing
 * with unread data would reset the connection and lose the answer), the answer is sent with a FIN, and the socket
 * is destroyed once the client closes its side, or after a second.
 */
function refuse(socket: Socket, answer: string): void {
  socket.on('error', () => {});
  queueMicrotask(() => {
    // 'close' stays: Node's listener there forgets the socket in its connection bookkeeping.
    for (const event of ['data', 'end', 'timeout', 'drain', 'error'] as const) socket.removeAllListeners(event);
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.on('end', () => socket.destroy());
    socket.setTimeout(1000, () => socket.destroy());
    socket.end(answer);
  });
}
