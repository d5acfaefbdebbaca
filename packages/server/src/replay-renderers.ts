import type { ExchangeResponse } from '@concierge/protocol';
import type {
  ConversationRecord,
  IdempotencyWrite,
  MemberRecord,
  MessageRecord,
  NoteRecord,
  ReadMarkResult,
  ReplayRenderers,
  WebhookDeliveryRecord,
  WebhookEndpointRecord,
} from '@concierge/store';
import { signMemberToken } from './auth/member-tokens.js';
import { memberArchived, notFound } from './errors.js';
import {
  json,
  renderConversation,
  renderMessage,
  renderNote,
  renderWebhookDelivery,
  renderWebhookEndpoint,
} from './render.js';

/**
 * How each idempotent route answers, by name: the store renders the answer inside the write's transaction to record it
 * for replays, and the SQLite writer runs in another thread (docs/design/sqlite-writer-thread.md), so it gets a name
 * and plain-data context, not a closure; every thread that writes loads this module (`openStore`'s `replayRenderers`).
 * A new idempotent route adds its renderer here and names it with `rendering`.
 */
export const replayRenderers = {
  sentMessage: (message: MessageRecord) => json(200, { ok: true, message: renderMessage(message) }),
  createdConversation: (conversation: ConversationRecord) => json(201, renderConversation(conversation)),
  createdNote: (note: NoteRecord) => json(201, renderNote(note)),
  readMark: (result: ReadMarkResult) => json(200, { ok: true, conversation: renderConversation(result.conversation) }),
  revokedTokens: (member: MemberRecord | null, context: { requestID: string }) =>
    member === null
      ? json(404, notFound('member').body(context.requestID))
      : json(200, { ok: true, revokedAt: new Date(member.tokensValidAfter).toISOString() }),
  /**
   * The token is minted here, inside the write, so a replay returns the very token first sent (HS256 is
   * deterministic: the same claims and secret make the same token, whichever thread signs).
   */
  exchangedToken: (
    member: MemberRecord,
    context: { secret: Uint8Array; orgID: string; issuedAt: number; ttlMs: number; requestID: string },
  ) => {
    // Archived while the exchange was on its way (the route refuses an archived member before it writes).
    if (member.archivedAt !== null) return json(409, memberArchived().body(context.requestID));
    const expiresAt = context.issuedAt + context.ttlMs;
    const accessToken = signMemberToken(context.secret, {
      org: context.orgID,
      sub: member.id,
      ext: member.externalUserID,
      iatms: context.issuedAt,
      expms: expiresAt,
    });
    const response: ExchangeResponse = { accessToken, expiresAt: new Date(expiresAt).toISOString() };
    return json(200, response);
  },
  /** The signing secret is in the recorded answer, so a retry with the same key gets the same secret. */
  createdWebhook: (e: WebhookEndpointRecord) => json(201, { ...renderWebhookEndpoint(e), signingSecret: e.secret }),
  rotatedWebhookSecret: (e: WebhookEndpointRecord | null, context: { requestID: string }) =>
    e === null
      ? json(404, notFound('webhook endpoint').body(context.requestID))
      : json(200, {
          signingSecret: e.secret,
          previousSecretExpiresAt: new Date(e.previousSecretExpiresAt ?? 0).toISOString(),
        }),
  retriedWebhookDelivery: (d: WebhookDeliveryRecord | null, context: { requestID: string }) =>
    d === null ? json(404, notFound('delivery').body(context.requestID)) : json(200, renderWebhookDelivery(d)),
  erasedMember: (erased: boolean) => json(200, { ok: true, erased }),
  replayedWebhooks: (count: number | null, context: { requestID: string }) =>
    count === null ? json(404, notFound('webhook endpoint').body(context.requestID)) : json(200, { ok: true, count }),
  testWebhook: (d: WebhookDeliveryRecord | null, context: { requestID: string }) =>
    d === null ? json(404, notFound('webhook endpoint').body(context.requestID)) : json(202, renderWebhookDelivery(d)),
} satisfies ReplayRenderers;

/** The URL to hand `openStore` so that every writing thread loads this module. */
export const REPLAY_RENDERERS_URL = import.meta.url;

type Renderers = typeof replayRenderers;
type ResultOf<K extends keyof Renderers> = Parameters<Renderers[K]>[0];
type ContextOf<K extends keyof Renderers> = Parameters<Renderers[K]> extends [unknown, infer C] ? C : undefined;

/** `rendering('sentMessage')`, `rendering('revokedTokens', { requestID })`: a renderer named, typed by its result. */
export function rendering<K extends keyof Renderers>(
  renderer: K,
  ...context: ContextOf<K> extends undefined ? [] : [ContextOf<K>]
): IdempotencyWrite<ResultOf<K>>['render'] {
  return context.length === 0 ? { renderer } : { renderer, context: context[0] };
}
