import { z } from 'zod';
import { conversationSchema } from './wire.js';

/**
 * The concierge team's side of the wire: agents and their sign-in, the org-wide inbox, conversation state and
 * internal notes. None of it is ever shown to a member's credential.
 */

const instant = z.string().meta({ format: 'date-time' });

export const agentRoleSchema = z.enum(['admin', 'agent']);

export const agentSchema = z
  .object({
    id: z.string(),
    orgID: z.string(),
    email: z.string(),
    name: z.string(),
    role: agentRoleSchema,
    createdAt: instant,
    disabledAt: instant.nullable(),
  })
  .meta({ id: 'Agent' });

/** One org the signed-in person may switch to: an agent of theirs there, opened by the same password. */
export const agentOrgSchema = z
  .object({
    orgID: z.string(),
    orgName: z.string(),
    agentID: z.string(),
    role: agentRoleSchema,
  })
  .meta({ id: 'AgentOrg' });

/** A colleague as every agent of the org sees them: a name for the authors of replies, notes and assignments. */
export const teammateSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: agentRoleSchema,
    disabledAt: instant.nullable(),
  })
  .meta({ id: 'Teammate' });

export const listTeammatesResponse = z.object({ data: z.array(teammateSchema) });

/** What this server accepts, so a client can say so before a send is refused. */
export const serverLimitsSchema = z
  .object({
    maxMessageChars: z
      .number()
      .int()
      .min(1)
      .meta({ description: "The longest message or note, in characters (the server's `--max-message-chars`)." }),
  })
  .meta({ id: 'ServerLimits' });

/** What setup, sign-in and refresh answer; the refresh secret travels only in the `concierge_refresh` cookie. */
export const signedInSchema = z
  .object({
    accessToken: z.string().meta({ description: 'Bearer token for the API, valid 15 minutes.' }),
    expiresAt: instant,
    agent: agentSchema,
    orgs: z.array(agentOrgSchema).meta({
      description:
        'Every org where the same email is an enabled agent with the same password, this one included, oldest ' +
        'first: the orgs `POST /v1/agent-auth/switch` opens.',
    }),
    limits: serverLimitsSchema,
  })
  .meta({ id: 'SignedIn' });

export const agentSessionSchema = z
  .object({
    id: z.string(),
    createdAt: instant,
    lastUsedAt: instant,
    expiresAt: instant,
    userAgent: z.string().nullable(),
    current: z.boolean().meta({ description: 'True for the session of the access token that asked.' }),
  })
  .meta({ id: 'AgentSession' });

/** `signInLink` is `<public base URL>/console/setup#token=…`: single use, valid 24 hours. */
export const createAgentResponse = z.object({
  agent: agentSchema,
  signInLink: z.string(),
  signInLinkExpiresAt: instant,
});

export const listAgentsResponse = z.object({ data: z.array(agentSchema) });
export const listAgentSessionsResponse = z.object({ data: z.array(agentSessionSchema) });
export const revokeAgentSessionsResponse = z.object({ ok: z.literal(true), revoked: z.number().int().min(0) });
export const revokeAgentSessionResponse = z.object({ id: z.string(), ok: z.literal(true) });

export const conversationStatusSchema = z.enum(['open', 'closed']);

/** Who made a change: an agent, the member, or the Org-API-Key acting as itself. */
export const actorSchema = z.object({ kind: z.enum(['agent', 'member', 'key']), id: z.string() });

export const conversationStateSchema = z
  .object({
    conversationID: z.string(),
    status: conversationStatusSchema,
    assigneeID: z.string().nullable(),
    awaitingReply: z.boolean().meta({ description: "True when the last message is the member's." }),
    updatedAt: instant,
    updatedBy: actorSchema,
  })
  .meta({ id: 'ConversationState' });

export const inboxItemSchema = z
  .object({
    conversation: conversationSchema,
    status: conversationStatusSchema,
    assigneeID: z.string().nullable(),
    awaitingReply: z.boolean(),
    lastActivityAt: instant,
    member: z.object({
      externalUserID: z.string(),
      displayName: z.string().nullable(),
      email: z.string().nullable(),
      tier: z.string().nullable(),
    }),
    lastMessage: z
      .object({
        id: z.string(),
        authorID: z.string(),
        preview: z.string().meta({ description: 'The first 140 characters of the body.' }),
        createdAt: instant,
        fromMember: z.boolean(),
      })
      .nullable(),
    search: z
      .object({
        snippet: z.string().meta({ description: 'The best-matching text, each match in `[` `]`.' }),
        rank: z.number().meta({ description: 'Relevance: higher is better; comparable within one search only.' }),
      })
      .optional(),
  })
  .meta({ id: 'InboxItem' });

export const inboxPageSchema = z
  .object({ data: z.array(inboxItemSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'InboxPage' });

export const noteSchema = z
  .object({ id: z.string(), conversationID: z.string(), authorID: z.string(), body: z.string(), createdAt: instant })
  .meta({ id: 'Note' });

export const notesPageSchema = z.object({ notes: z.array(noteSchema), nextCursor: z.string().nullable() });

export const inboxCountsSchema = z.object({
  unassigned: z.number().int().min(0),
  mine: z.number().int().min(0),
  open: z.number().int().min(0),
  awaiting: z.number().int().min(0),
  closed: z.number().int().min(0),
});

/** The `note` event of the team's streams. */
export const noteEventSchema = z.object({ conversationID: z.string(), note: noteSchema });
