import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Opaque cursors. A cursor names a position: one message in one conversation (`m`), or one event in one
 * event stream (`e`). The same position serves both directions: `listMessages?cursor=X` pages to messages older
 * than X, while a stream resumed from X (`Last-Event-ID: X` or `?after=X`) replays what is newer than X. So the
 * SSE `id:` of a message is exactly the cursor `listMessages` would hand out for it.
 *
 * The payload is signed with a server secret (HMAC-SHA256, truncated to 96 bits), so a tampered cursor or one
 * made for another conversation or stream is refused with 400 INVALID_CURSOR instead of silently reading
 * somewhere else. It is a keyset position, never an offset: rows inserted meanwhile cannot shift it.
 */
export type CursorPosition =
  | { kind: 'm'; conversationID: string; seq: number }
  | { kind: 'e'; stream: string; seq: number }
  /** Notes of one conversation (seq: the oldest note seen). */
  | { kind: 'n'; conversationID: string; seq: number }
  /** The inbox of an org: the activity position of the last item seen, as of the first page's snapshot. */
  | { kind: 'i'; orgID: string; seq: number; snapshot: number }
  /** A ranked inbox search: how many results were seen (ranks move, so a search pages by offset). */
  | { kind: 's'; orgID: string; seq: number }
  /** The members of an org (`GET /v1/members`): the listing place (`listSeq`) of the last member seen. */
  | { kind: 'u'; orgID: string; seq: number };

/** The conversation, stream or org a position belongs to. */
export function scopeOf(p: CursorPosition): string {
  return p.kind === 'm' || p.kind === 'n' ? p.conversationID : p.kind === 'e' ? p.stream : p.orgID;
}

const MAC_BYTES = 12;

/**
 * Cursors already computed and verified, by payload and by text. A cursor is a pure function of the secret and the
 * position, and most are handed out or shown again (every reader of a conversation gets the same `latestCursor`
 * until it moves; a page is asked for more than once), while an HMAC costs more than the rest of a page's cursor
 * work (a third of a list request's crypto time). Keyed by the exact text, a tampered or foreign cursor never
 * matches and is verified in full. Bounded: cleared when full.
 */
const MEMO_MAX = 10_000;
const encoded = new Map<string, string>();
const decoded = new Map<string, Readonly<CursorPosition>>();
let memoSecret: Uint8Array | null = null;

/** The memos belong to one secret (tests run servers with several in one process). */
function memoFor(secret: Uint8Array): void {
  if (memoSecret === secret) return;
  memoSecret = secret;
  encoded.clear();
  decoded.clear();
}

function remember<V>(map: Map<string, V>, key: string, value: V): V {
  if (map.size >= MEMO_MAX) map.clear();
  map.set(key, value);
  return value;
}

function mac(secret: Uint8Array, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest().subarray(0, MAC_BYTES);
}

export function encodeCursor(secret: Uint8Array, position: CursorPosition): string {
  const tail = position.kind === 'i' ? `:${position.snapshot.toString(36)}` : '';
  const payload = `${position.kind}:${scopeOf(position)}:${position.seq.toString(36)}${tail}`;
  memoFor(secret);
  const known = encoded.get(payload);
  if (known !== undefined) return known;
  const body = Buffer.from(payload, 'utf8').toString('base64url');
  return remember(encoded, payload, `${body}.${mac(secret, payload).toString('base64url')}`);
}

/** Returns the position, or `null` for anything this server did not sign (the caller answers INVALID_CURSOR). */
export function decodeCursor(secret: Uint8Array, cursor: string): CursorPosition | null {
  if (cursor.length === 0 || cursor.length > 512) return null;
  memoFor(secret);
  const known = decoded.get(cursor);
  if (known !== undefined) return { ...known };
  const position = verify(secret, cursor);
  return position === null ? null : { ...remember(decoded, cursor, position) };
}

function verify(secret: Uint8Array, cursor: string): CursorPosition | null {
  const dot = cursor.indexOf('.');
  if (dot <= 0 || dot !== cursor.lastIndexOf('.')) return null;
  const body = cursor.slice(0, dot);
  const payload = Buffer.from(body, 'base64url').toString('utf8');
  // Compare the text, not decoded bytes: base64 ignores trailing bits, so `<cursor>x` would otherwise still verify.
  if (Buffer.from(payload, 'utf8').toString('base64url') !== body) return null;
  const given = Buffer.from(cursor.slice(dot + 1), 'utf8');
  const want = Buffer.from(mac(secret, payload).toString('base64url'), 'utf8');
  if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
  const m = /^([mensiu]):([^:]+):([0-9a-z]{1,11})(?::([0-9a-z]{1,11}))?$/.exec(payload);
  if (m === null || (m[1] === 'i') !== (m[4] !== undefined)) return null;
  const seq = parseInt(m[3]!, 36);
  if (!Number.isSafeInteger(seq) || seq < 0) return null;
  const scope = m[2]!;
  switch (m[1]) {
    case 'm':
      return { kind: 'm', conversationID: scope, seq };
    case 'e':
      return { kind: 'e', stream: scope, seq };
    case 'n':
      return { kind: 'n', conversationID: scope, seq };
    case 's':
      return { kind: 's', orgID: scope, seq };
    case 'u':
      return { kind: 'u', orgID: scope, seq };
    default: {
      const snapshot = parseInt(m[4]!, 36);
      return Number.isSafeInteger(snapshot) ? { kind: 'i', orgID: scope, seq, snapshot } : null;
    }
  }
}
