import type { z } from 'zod';
import type { exchangeBody } from './contract/operations/auth.js';
import type { createConversationBody } from './contract/operations/conversations.js';
import type { listInbox } from './contract/operations/inbox.js';
import type { archiveMemberQuery, listMembersQuery, memberBody } from './contract/operations/members.js';
import type { listMessagesQuery, readBody, sendBody } from './contract/operations/messages.js';
import type { createWebhookBody, deliveriesQuery, patchWebhookBody } from './contract/operations/webhooks.js';
import type { WebhookEventType } from './webhook-events.js';

/**
 * What a client sends, inferred from the schemas the server validates each request with, so a request's fields are
 * declared once beside its answer's. The inferred type is the value a valid request carries (`z.output`): a query's
 * page size is a number, which the client writes into the query string. Type-only, like types.ts.
 */

/**
 * A query's flags as a client gives them: a field the schema takes as the text `'true'` (or `'false'`) is a
 * boolean, which the client writes as that text (and leaves out when false, where only `'true'` is accepted).
 */
export type QueryFlags<T> = {
  [K in keyof T]: [Exclude<T[K], undefined>] extends ['true' | 'false'] ? boolean | undefined : T[K];
};

/** `exchangeToken`: the member and the profile fields the exchange records. */
export type ExchangeParams = z.output<typeof exchangeBody>;
/** The profile fields an exchange records; `null` clears one. */
export type MemberProfile = Omit<ExchangeParams, 'externalUserID'>;
/** `setMember`: the fields given change, the others keep their values; `null` clears one. */
export type MemberUpdate = z.output<typeof memberBody>;
export type ListMembersQuery = z.output<typeof listMembersQuery>;
/** `removeMember`'s query: `retainBalance` is the hosted API's (Concierge keeps no balance). */
export type RemoveMemberQuery = QueryFlags<z.output<typeof archiveMemberQuery>>;

/** `openConversation`'s body; the member a server credential acts for is named apart (`externalUserID`). */
export type OpenConversationParams = Omit<z.output<typeof createConversationBody>, 'externalUserID'>;
/** A page of history: `limit` and `cursor` (a page's `nextCursor`); `externalUserID` names whose history it is. */
export type ListMessagesQuery = z.output<typeof listMessagesQuery>;
/** `sendMessage`'s body: the text, and with the Org-API-Key the agent who posts it (`authorID`). */
export type SendMessageBody = z.output<ReturnType<typeof sendBody>>;
/** `markRead`'s body: the read mark moves forward to this message. */
export type MarkReadBody = z.output<typeof readBody>;

/** The inbox's filters and page. */
export type InboxQuery = QueryFlags<z.output<typeof listInbox.querystring>>;

/**
 * An event type an endpoint may subscribe to, or `*` for all. Any string is taken (a newer server may know more
 * types); the known ones autocomplete.
 */
export type WebhookEventSelector = WebhookEventType | '*' | (string & {});

/** `createWebhook`: what to receive (`['*']` for every type), where (https; http only with `--webhooks-allow-http`). */
export type CreateWebhookParams = Omit<z.output<typeof createWebhookBody>, 'events'> & {
  events: WebhookEventSelector[];
};
/** `updateWebhook`: only the fields given change; `enabled: false` disables the endpoint, `true` enables it again. */
export type UpdateWebhookParams = Omit<z.output<typeof patchWebhookBody>, 'events'> & {
  events?: WebhookEventSelector[] | undefined;
};
export type ListWebhookDeliveriesQuery = z.output<typeof deliveriesQuery>;
