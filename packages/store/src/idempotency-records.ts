/** Idempotency keys: the record a write keeps of its answer, and how that answer is rendered. */

/** Idempotency keys are kept this long; a key reused after that is a new request (its old record is replaced). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface IdempotencyScope {
  orgID: string;
  /** The caller: `key:<apiKeyID>` or `member:<memberID>`. Two principals never share a key space. */
  principal: string;
  key: string;
}

/**
 * How an idempotent write's answer is made, as data: the name of a renderer and the plain-data context it needs
 * besides the write's result (a request id, a signing secret, …). The store records the rendered answer in the
 * write's own transaction, which may run in another thread (sqlite/writer-thread.ts), so a closure cannot travel
 * there; a name can. The renderers are the server's (wire shapes are not the store's business): it names the
 * module that exports them when it opens the store, and every thread that writes loads that module
 * (replay-renderers.ts).
 */
export interface ReplayRendering {
  readonly renderer: string;
  readonly context?: unknown;
}

export interface StoredResponse {
  status: number;
  body: string;
}

export interface IdempotencyRecord extends StoredResponse {
  fingerprint: string;
  createdAt: number;
}

/**
 * Asks a mutation to record its idempotency key in the same transaction as its write. `render` names the renderer
 * (replay-renderers.ts) that turns the mutation's result into the response a replay will send back; it runs inside
 * the transaction, in whichever thread writes, so it is data, not a closure. `T` is the result it renders.
 */
export interface IdempotencyWrite<T> {
  scope: IdempotencyScope;
  fingerprint: string;
  render: ReplayRendering & { readonly __result?: T };
}

/** Thrown by a mutation when its idempotency key was committed by another request first (nothing was written). */
export class IdempotencyKeyTaken extends Error {
  constructor() {
    super('idempotency key already recorded');
    this.name = 'IdempotencyKeyTaken';
  }
}

/** The idempotency part of the Store port (store.ts). */
export interface IdempotencyStore {
  getIdempotency(scope: IdempotencyScope): Promise<IdempotencyRecord | null>;
  /** Removes idempotency records created before `before` (epoch ms). Returns how many. */
  purgeIdempotency(before: number): Promise<number>;
}
