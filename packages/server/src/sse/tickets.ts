import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '@concierge/store';
import type { Principal } from '../auth/authenticator.js';
import { ApiError } from '../errors.js';

interface TicketPayload {
  p: Principal;
  /** Ticket expiry, epoch ms. */
  x: number;
  /** Nonce: what makes a ticket single-use. */
  n: string;
}

/**
 * Stream tickets let a browser's native EventSource (which cannot send headers) open a stream without putting a
 * token in a URL: a ticket is single-use, valid 60 s by default (`--ticket-ttl`), and names the principal that asked for it. It is signed
 * (HMAC with the server secret) so it needs no table; single use is a set of spent nonces kept 60 s.
 */
export class Tickets {
  private readonly spent = new Map<string, number>();
  private readonly sweeper = setInterval(() => this.sweep(), 10_000).unref();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly secret: Uint8Array,
    private readonly ttlMs: number,
    private readonly store: Store,
  ) {
    // Spent nonces are shared with every instance on the database, so a ticket works once in the whole cluster.
    this.unsubscribe = store.onEphemeral((m) => {
      if (m.kind === 'ticket-spent') this.spent.set(m.nonce, m.expiresAt);
    });
  }

  issue(principal: Principal, now = Date.now()): { ticket: string; expiresAt: string } {
    const payload: TicketPayload = { p: principal, x: now + this.ttlMs, n: randomBytes(16).toString('base64url') };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return { ticket: `tkt_${body}.${this.mac(body)}`, expiresAt: new Date(payload.x).toISOString() };
  }

  redeem(ticket: string, now = Date.now()): Principal {
    const invalid = new ApiError('TICKET_INVALID', 'This stream ticket is unknown, already used, or expired.');
    const m = /^tkt_([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(ticket);
    if (m === null) throw invalid;
    // Compared as text: base64 decoding ignores trailing bits, so decoded bytes could match a tampered ticket.
    const given = Buffer.from(m[2]!, 'utf8');
    const want = Buffer.from(this.mac(m[1]!), 'utf8');
    if (given.length !== want.length || !timingSafeEqual(given, want)) throw invalid;
    let payload: TicketPayload;
    try {
      payload = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as TicketPayload;
    } catch {
      throw invalid;
    }
    if (typeof payload.x !== 'number' || typeof payload.n !== 'string' || payload.x <= now || this.spent.has(payload.n))
      throw invalid;
    this.spent.set(payload.n, payload.x);
    this.store.publishEphemeral({ kind: 'ticket-spent', nonce: payload.n, expiresAt: payload.x });
    return payload.p;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(`ticket:${body}`).digest().subarray(0, 16).toString('base64url');
  }

  private sweep(now = Date.now()): void {
    for (const [n, x] of this.spent) if (x <= now) this.spent.delete(n);
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.sweeper);
  }
}
