import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTLSServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Changes, GUARD_MS } from './wait.js';

/** One request a receiver got. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What the receiver does with a request: answer (status, body), or take the response over itself. */
export type Behaviour = (r: Received, res: ServerResponse) => { status: number; body?: string } | 'handled';

/**
 * A real webhook receiver on loopback: records every request, answers as `behaviour` says (200 by default), and
 * lets a test wait on what arrived.
 */
export class Receiver {
  readonly received: Received[] = [];
  behaviour: Behaviour = () => ({ status: 200 });
  private readonly changes = new Changes();
  private readonly server: Server;
  url = '';

  private constructor(tls: { key: string; cert: string } | undefined) {
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        this.received.push(r);
        this.changes.notify();
        const answer = this.behaviour(r, res);
        if (answer === 'handled') return;
        res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body ?? 'ok');
      });
    };
    this.server = tls === undefined ? createServer(handle) : createTLSServer(tls, handle);
  }

  /**
   * Leaves the requests `which` picks unanswered (the others get 200) until `release()`: then the held connections
   * are cut, never answered, and every later request gets 200. For tests that kill a sender mid-attempt.
   */
  holdUnanswered(which: (r: Received) => boolean = () => true): { release(): void } {
    const held: ServerResponse[] = [];
    this.behaviour = (r, res) => {
      if (!which(r)) return { status: 200 };
      held.push(res);
      return 'handled';
    };
    return {
      release: () => {
        this.behaviour = () => ({ status: 200 });
        for (const res of held.splice(0)) res.destroy();
      },
    };
  }

  /** Listens on loopback; with `tls` (a key and certificate in PEM) it is an https receiver. */
  static async start(path = '/hook', tls?: { key: string; cert: string }): Promise<Receiver> {
    const r = new Receiver(tls);
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    const scheme = tls === undefined ? 'http' : 'https';
    r.url = `${scheme}://127.0.0.1:${(r.server.address() as AddressInfo).port}${path}`;
    return r;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Parsed bodies, in arrival order. */
  events(): Array<{ type: string; timestamp: string; data: any }> {
    return this.received.map((r) => JSON.parse(r.body));
  }

  until(check: () => boolean, what: string, ms = GUARD_MS): Promise<void> {
    return this.changes.until(check, `${what} (${this.received.length} received)`, ms);
  }

  /** Stops listening (connections are refused, as to a receiver that is down) until `up`; same port after. */
  async down(): Promise<void> {
    await this.close();
  }

  async up(): Promise<void> {
    const port = Number(new URL(this.url).port);
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
