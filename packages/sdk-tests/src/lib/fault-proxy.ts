import { once } from 'node:events';
import net from 'node:net';

/**
 * What the proxy does to one request:
 * - `respond`: answers itself (never forwards), e.g. a 503 or 429 with `Retry-After`;
 * - `reset`: closes the connection before forwarding anything (the server never sees the request);
 * - `drop`: forwards, and when the server's answer starts, passes `afterBytes` of it (default 0) and cuts the
 *   connection: the server did the work, the client never learns the outcome;
 * - `stall`: forwards, and passes `afterBytes` of the answer (default 0), then nothing more while keeping the
 *   connection open: a hung server for a call, a silent link for a stream.
 */
export type Fault =
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'reset' }
  | { kind: 'drop'; afterBytes?: number }
  | { kind: 'stall'; afterBytes?: number };

export interface SeenRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  fault: Fault['kind'] | 'pass';
  /** The server's whole answer has passed (it closes after one request). */
  done: boolean;
}

type Match = (method: string, path: string) => boolean;

interface Rule {
  match: Match;
  fault: Fault;
  times: number;
}

interface Pair {
  path: string;
  client: net.Socket;
  upstream: net.Socket | null;
  /** The server's answer has started (for a stream: the server has registered it). */
  answering: boolean;
  /** The answer's head has been passed to the client (for a stream: the client is reading its body). */
  headPassed: boolean;
  /** Nothing more of the answer passes, though the connection stays open (see `silence`). */
  silenced: boolean;
  /** Some SSE `data:` has passed to the client on this connection. */
  delivered: boolean;
}

const HEAD_END = '\r\n\r\n';

/**
 * A real TCP proxy in front of the real server, for fault injection. It reads each request's head and sets
 * `Connection: close` on it and on its answer (so every connection carries exactly one request and a fault lands
 * on the request it was meant for, whatever the client's keep-alive pool does), applies the first matching
 * fault, and otherwise passes bytes both ways untouched.
 */
export class FaultProxy {
  readonly requests: SeenRequest[] = [];
  private readonly rules: Rule[] = [];
  private readonly live = new Set<Pair>();
  private server!: net.Server;
  url = '';

  private constructor(private readonly target: URL) {}

  static async start(target: string): Promise<FaultProxy> {
    const proxy = new FaultProxy(new URL(target));
    proxy.server = net.createServer((socket) => proxy.accept(socket));
    proxy.server.listen(0, '127.0.0.1');
    await once(proxy.server, 'listening');
    const { port } = proxy.server.address() as net.AddressInfo;
    proxy.url = `http://127.0.0.1:${port}`;
    return proxy;
  }

  /** The next `times` requests that match get `fault`. `match` is a method+path test or a path substring. */
  inject(match: string | Match, fault: Fault, times = 1): void {
    const test: Match = typeof match === 'string' ? (_m, p) => p.includes(match) : match;
    this.rules.push({ match: test, fault, times });
  }

  /**
   * Drops the faults not used yet. An attempt the client gives up on before it reaches the proxy (a short
   * `timeoutMs` on a loaded machine) leaves its fault behind for the next request that matches.
   */
  clear(): void {
    this.rules.length = 0;
  }

  /** Cuts every open connection whose request path contains `pathPart`; returns how many. */
  cut(pathPart = ''): number {
    let n = 0;
    for (const pair of [...this.live]) {
      if (!pair.path.includes(pathPart)) continue;
      pair.client.destroy();
      pair.upstream?.destroy();
      this.live.delete(pair);
      n++;
    }
    return n;
  }

  /** From now on, open connections whose path contains `pathPart` pass nothing more to the client (a silent link). */
  silence(pathPart: string): number {
    let n = 0;
    for (const pair of this.live) {
      if (!pair.path.includes(pathPart) || pair.silenced) continue;
      pair.silenced = true;
      n++;
    }
    return n;
  }

  /** Open connections whose path contains `pathPart` that have passed at least one SSE event to the client. */
  delivering(pathPart: string): number {
    let n = 0;
    for (const pair of this.live) if (pair.path.includes(pathPart) && pair.delivered) n++;
    return n;
  }

  /**
   * Open connections whose path contains `pathPart` whose answer head has been passed to the client: a stream
   * the client is reading (its idle watchdog armed), not one still waiting for its head.
   */
  streaming(pathPart: string): number {
    let n = 0;
    for (const pair of this.live) if (pair.path.includes(pathPart) && pair.headPassed) n++;
    return n;
  }

  /** Open connections whose request path contains `pathPart` and whose answer has started. */
  open(pathPart = ''): number {
    let n = 0;
    for (const pair of this.live) if (pair.path.includes(pathPart) && pair.answering) n++;
    return n;
  }

  seen(method: string, pathPart: string): SeenRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.includes(pathPart));
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private take(method: string, path: string): Fault | null {
    const i = this.rules.findIndex((r) => r.match(method, path));
    if (i < 0) return null;
    const rule = this.rules[i]!;
    if (--rule.times <= 0) this.rules.splice(i, 1);
    return rule.fault;
  }

  private accept(client: net.Socket): void {
    client.on('error', () => {});
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf(HEAD_END);
      if (end < 0) {
        if (buffered.length > 64 * 1024) client.destroy();
        return;
      }
      client.off('data', onData);
      client.pause();
      this.route(client, buffered.subarray(0, end).toString('latin1'), buffered.subarray(end + HEAD_END.length));
    };
    client.on('data', onData);
  }

  private route(client: net.Socket, head: string, rest: Buffer): void {
    const [requestLine = '', ...lines] = head.split('\r\n');
    const [method = '', path = ''] = requestLine.split(' ');
    const headers: Record<string, string> = {};
    const kept: string[] = [];
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      headers[name] = line.slice(colon + 1).trim();
      if (name !== 'connection' && name !== 'keep-alive') kept.push(line);
    }
    const fault = this.take(method, path);
    const seen: SeenRequest = { method, path, headers, fault: fault?.kind ?? 'pass', done: false };
    this.requests.push(seen);

    if (fault?.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (fault?.kind === 'respond') {
      const body =
        fault.body ?? JSON.stringify({ error: { code: 'INJECTED', message: 'Injected by the test proxy.' } });
      const extra = Object.entries(fault.headers ?? {})
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      client.end(
        `HTTP/1.1 ${fault.status} Injected\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
          `access-control-allow-origin: *\r\naccess-control-expose-headers: retry-after, x-should-retry, x-request-id\r\n` +
          `${extra}connection: close\r\n\r\n${body}`,
      );
      return;
    }

    const upstream = net.connect(Number(this.target.port), this.target.hostname);
    const pair: Pair = {
      path,
      client,
      upstream: null,
      answering: false,
      headPassed: false,
      silenced: false,
      delivered: false,
    };
    this.live.add(pair);
    const forget = () => {
      // The client may close first, as soon as it has the whole answer (it was told `Connection: close`).
      if (pair.answering) seen.done = true;
      this.live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', forget);
    client.on('error', forget);
    client.on('close', forget);
    upstream.on('end', () => (seen.done = true));
    upstream.on('close', () => {
      // A stalled answer stays stalled: the client keeps waiting on an open connection.
      if (fault?.kind === 'stall') return;
      this.live.delete(pair);
      client.end();
    });
    upstream.on('connect', () => {
      pair.upstream = upstream;
      upstream.write(`${[requestLine, ...kept, 'connection: close'].join('\r\n')}${HEAD_END}`, 'latin1');
      if (rest.length > 0) upstream.write(rest);
      client.pipe(upstream);
      client.resume();
    });

    let passed = 0;
    let answerHead: Buffer | null = Buffer.alloc(0);
    upstream.on('data', (data: Buffer) => {
      pair.answering = true;
      let chunk = data;
      if (answerHead !== null) {
        // The answer's head says `Connection: close` too (an SSE answer says keep-alive by itself), so the client
        // never sends a second request on this connection.
        answerHead = Buffer.concat([answerHead, data]);
        const end = answerHead.indexOf(HEAD_END);
        if (end < 0) return;
        const lines = answerHead.subarray(0, end).toString('latin1').split('\r\n');
        const kept = lines.filter((l) => !/^(connection|keep-alive):/i.test(l));
        chunk = Buffer.concat([
          Buffer.from(`${[...kept, 'connection: close'].join('\r\n')}${HEAD_END}`, 'latin1'),
          answerHead.subarray(end + 4),
        ]);
        answerHead = null;
      }
      if (pair.silenced) return;
      if (fault === null) {
        if (chunk.includes('data:')) pair.delivered = true;
        client.write(chunk);
        pair.headPassed = true;
        return;
      }
      const budget = (fault.afterBytes ?? 0) - passed;
      if (budget > 0) {
        client.write(chunk.subarray(0, budget));
        passed += Math.min(budget, chunk.length);
      }
      if (passed >= (fault.afterBytes ?? 0) && fault.kind === 'drop') forget();
      // `stall`: the rest is swallowed; the connection stays open until the client gives up or a test cuts it.
    });
  }
}
