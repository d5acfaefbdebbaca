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

const PURGE_INTERVAL_MS = 60_000;

/**
 * Stream tickets let a browser's native EventSource (which cannot send headers) open a stream without putting a
 * token in a URL: a ticket is single-use, valid for `--ticket-ttl` seconds (60 by default), and names the
 * principal that asked for it. It is signed (HMAC with the server secret), so issuing one writes nothing. Single
 * use is durable: redeeming records the ticket's nonce in the database (`Store.spendTicket`, a unique key), so a
 * ticket spent on one instance is refused on every other, whatever signal was lost, and after a restart.
 */
export class Tickets {
  private readonly sweeper = setInterval(() => void this.purge(), PURGE_INTERVAL_MS).unref();

  constructor(
    private readonly secret: Uint8Array,
    private readonly ttlMs: number,
    private readonly store: Store,
  ) {}

  issue(principal: Principal, now = Date.now()): { ticket: string; expiresAt: string } {
    const payload: TicketPayload = { p: principal, x: now + this.ttlMs, n: randomBytes(16).toString('base64url') };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return { ticket: `tkt_${body}.${this.mac(body)}`, expiresAt: new Date(payload.x).toISOString() };
  }

  async redeem(ticket: string, now = Date.now()): Promise<Principal> {
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
    if (typeof payload.x !== 'number' || typeof payload.n !== 'string' || payload.x <= now) throw invalid;
    if (!(await this.store.spendTicket(payload.n, payload.x))) throw invalid;
    return payload.p;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(`ticket:${body}`).digest().subarray(0, 16).toString('base64url');
  }

  /** Expired nonces can never be shown again (their ticket is refused as expired first): drop their rows. */
  private async purge(): Promise<void> {
    try {
      await this.store.purgeSpentTickets(Date.now());
    } catch {
      // The store is unavailable: the next round purges what this one could not.
    }
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
