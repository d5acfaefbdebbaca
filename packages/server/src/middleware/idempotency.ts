import { createHash } from 'node:crypto';
import { LIMITS } from '@concierge/protocol';
import {
  IDEMPOTENCY_TTL_MS,
  IdempotencyKeyTaken,
  renderReplay,
  type IdempotencyScope,
  type IdempotencyWrite,
  type Store,
  type StoredResponse,
} from '@concierge/store';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/authenticator.js';
import { principalID } from '../auth/authenticator.js';
import { ApiError } from '../errors.js';

const IDEMPOTENCY_KEY = new RegExp(`^[\\x20-\\x7e]{1,${LIMITS.idempotencyKeyMaxChars}}$`);

/**
 * Canonical JSON (sorted keys, no whitespace) so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request. Written
 * with an explicit stack, not recursion: a body nested a few thousand levels deep once overflowed the call stack
 * here. The body parser caps nesting as well (input/json-body.ts); this does not rely on it.
 */
export function canonical(root: unknown): string {
  const out: string[] = [];
  // Each entry is a value still to write, or a literal piece of punctuation.
  const stack: ({ value: unknown } | { text: string })[] = [{ value: root }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ('text' in item) {
      out.push(item.text);
      continue;
    }
    const value = item.value;
    if (value === null || typeof value !== 'object') {
      out.push(JSON.stringify(value) ?? 'null');
    } else if (Array.isArray(value)) {
      stack.push({ text: ']' });
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i] });
        if (i > 0) stack.push({ text: ',' });
      }
      out.push('[');
    } else {
      const keys = Object.keys(value).sort();
      stack.push({ text: '}' });
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push({ value: (value as Record<string, unknown>)[keys[i]!] });
        stack.push({ text: `${i > 0 ? ',' : ''}${JSON.stringify(keys[i])}:` });
      }
      out.push('{');
    }
  }
  return out.join('');
}

/** The request's identity: method, path with query, and body. */
function fingerprint(req: FastifyRequest): string {
  return createHash('sha256')
    .update(req.method)
    .update('\n')
    .update(req.url)
    .update('\n')
    .update(canonical(req.body ?? null))
    .digest('base64url');
}

/**
 * `render` names the answer's renderer (replay-renderers.ts), which the store also runs to record it.
 *
 * Runs a write at most once per (org, principal, `Idempotency-Key`). The key is recorded by the store in the
 * same transaction as the write (see IdempotencyWrite), so a crash can never leave one without the other:
 *
 * - no key: the write runs plainly;
 * - a finished key, same request: the stored status and body again, with `Idempotent-Replayed: true`;
 * - a finished key, another request: 409 IDEMPOTENCY_KEY_REUSED (`x-should-retry: false`);
 * - a key whose first request is still running here: 409 IDEMPOTENCY_KEY_IN_USE (`Retry-After: 1`);
 * - a key committed meanwhile by another instance: the write rolls back and the stored answer is replayed.
 *
 * It is called after authentication and validation, so requests rejected before they run store nothing.
 */
export class Idempotency {
  private readonly inFlight = new Set<string>();

  constructor(private readonly store: Store) {}

  async run<T>(
    req: FastifyRequest,
    reply: FastifyReply,
    principal: Principal,
    write: (idem: IdempotencyWrite<NoInfer<T>> | undefined) => Promise<T>,
    render: IdempotencyWrite<NoInfer<T>>['render'],
  ): Promise<FastifyReply> {
    const header = req.headers['idempotency-key'];
    if (header === undefined) return send(reply, renderReplay(render, await write(undefined)));
    // The key is stored and compared byte for byte: printable ASCII only (a UUID, a ULID, a hash), since HTTP
    // headers carry bytes, not text, and a non-ASCII key would depend on how each client encodes it.
    if (typeof header !== 'string' || !IDEMPOTENCY_KEY.test(header))
      throw new ApiError(
        'VALIDATION',
        `\`Idempotency-Key\` must be 1 to ${LIMITS.idempotencyKeyMaxChars} printable ASCII characters.`,
        { field: 'Idempotency-Key' },
      );
    const scope: IdempotencyScope = { orgID: principal.orgID, principal: principalID(principal), key: header };
    const print = fingerprint(req);
    const slot = `${scope.orgID}\u0000${scope.principal}\u0000${scope.key}`;
    if (this.inFlight.has(slot)) throw inUse();
    this.inFlight.add(slot);
    try {
      // No lookup first: the write records the key in its own transaction and fails with IdempotencyKeyTaken
      // (rolled back) if the key is already there, so a first request costs no extra read; a retry pays for it.
      try {
        // The store renders the answer inside the transaction to record it (replay-renderers.ts); the same
        // renderer on the same result makes the answer sent now, byte for byte.
        return send(reply, renderReplay(render, await write({ scope, fingerprint: print, render })));
      } catch (error) {
        if (!(error instanceof IdempotencyKeyTaken)) throw error;
        const winner = await this.lookup(scope);
        if (winner === null) throw inUse();
        return this.replay(reply, winner, print);
      }
    } finally {
      this.inFlight.delete(slot);
    }
  }

  private async lookup(scope: IdempotencyScope) {
    const stored = await this.store.getIdempotency(scope);
    return stored !== null && stored.createdAt > Date.now() - IDEMPOTENCY_TTL_MS ? stored : null;
  }

  private replay(reply: FastifyReply, stored: StoredResponse & { fingerprint: string }, print: string): FastifyReply {
    if (stored.fingerprint !== print)
      throw new ApiError(
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was already used with a different request; use a new key for a new request.',
        { headers: { 'x-should-retry': 'false' } },
      );
    reply.header('idempotent-replayed', 'true');
    return send(reply, stored);
  }
}

function inUse(): ApiError {
  return new ApiError(
    'IDEMPOTENCY_KEY_IN_USE',
    'A request with this Idempotency-Key is still running; retry shortly.',
    {
      headers: { 'retry-after': '1' },
    },
  );
}

function send(reply: FastifyReply, response: StoredResponse): FastifyReply {
  return reply.code(response.status).type('application/json; charset=utf-8').send(response.body);
}
