import type { Agent, AgentOrg, AgentSession, CreateAgentResponse, SignedIn } from '@concierge/protocol';
import { z } from 'zod';
import { MIN_PASSWORD_CHARS } from '../auth/passwords.js';
import { BODY_ERRORS, errorResponses, V1_ERRORS } from './errors.js';
import { identifier, text } from './fields.js';
import { keyIgnoredHeaders } from './headers.js';
import { okResponse } from './wire.js';

const instant = z.string().meta({ format: 'date-time' });

export const agentSchema = z
  .object({
    id: z.string(),
    orgID: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.enum(['admin', 'agent']),
    createdAt: instant,
    disabledAt: instant.nullable(),
  })
  .meta({ id: 'Agent' });

export const agentOrgSchema = z
  .object({
    orgID: z.string(),
    orgName: z.string(),
    agentID: z.string(),
    role: z.enum(['admin', 'agent']),
  })
  .meta({ id: 'AgentOrg' });

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
  })
  .meta({ id: 'SignedIn' });

export const agentSessionSchema = z
  .object({
    id: z.string(),
    createdAt: instant,
    lastUsedAt: instant,
    expiresAt: instant,
    userAgent: z.string().nullable(),
    current: z.boolean(),
  })
  .meta({ id: 'AgentSession' });

const createAgentResponse = z.object({ agent: agentSchema, signInLink: z.string(), signInLinkExpiresAt: instant });

/** Mutual assignability with the protocol's types (see wire.ts). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const same = <T extends true>(): T | undefined => undefined;
same<Same<z.output<typeof agentSchema>, Agent>>();
same<Same<z.output<typeof agentOrgSchema>, AgentOrg>>();
same<Same<z.output<typeof signedInSchema>, SignedIn>>();
same<Same<z.output<typeof agentSessionSchema>, AgentSession>>();
same<Same<z.output<typeof createAgentResponse>, CreateAgentResponse>>();

const EMAIL = /^[^@\s]+@[^@\s]+$/;
export const emailField = identifier(254)
  .refine((s) => EMAIL.test(s), 'must be an email address')
  .meta({ format: 'email', description: 'Compared without regard to case.' });

const passwordField = z
  .string({ error: 'must be a string' })
  // eslint-disable-next-line no-control-regex -- refusing NUL is the point
  .refine((s) => !/\u0000/.test(s), 'must not contain a NUL character')
  .refine((s) => [...s].length >= MIN_PASSWORD_CHARS, `must be at least ${MIN_PASSWORD_CHARS} characters`)
  .refine((s) => s.length <= 1024, 'must be at most 1024 characters')
  .meta({ minLength: MIN_PASSWORD_CHARS, maxLength: 1024 });

const roleField = z.enum(['admin', 'agent'], { error: "must be 'admin' or 'agent'" });

/** Routes of the sign-in itself: no bearer (the OpenAPI document says so with `security: []`). */
const AUTH_ROUTE_ERRORS = V1_ERRORS.filter(
  (c) => !['UNAUTHORIZED', 'TOKEN_EXPIRED', 'TOKEN_INVALID', 'TOKEN_REVOKED', 'API_KEY_INVALID'].includes(c),
);

export const setupSchema = {
  operationId: 'agentSetup',
  tags: ['Agents'],
  summary: "Set an agent's password through a one-time sign-in link, and sign in",
  security: [],
  body: z.object({ token: z.string({ error: 'must be a string' }).min(1).max(200), password: passwordField }),
  headers: keyIgnoredHeaders,
  response: { 200: signedInSchema, ...errorResponses(...AUTH_ROUTE_ERRORS, ...BODY_ERRORS, 'SIGN_IN_LINK_INVALID') },
};

export const signInSchema = {
  operationId: 'agentSignIn',
  tags: ['Agents'],
  summary: 'Sign an agent in with email and password',
  description:
    'The password opens the agents of this email it was set for, in any org; the answer signs in to the oldest ' +
    'and lists the others in `orgs`. A wrong email and a wrong password get the same answer after the same work, ' +
    'whatever orgs the email is an agent of.',
  security: [],
  body: z.object({
    email: emailField,
    password: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(1024),
    orgID: identifier(100)
      .optional()
      .meta({ description: 'Signs in to this org only (a wrong org is the same 401 as a wrong password).' }),
  }),
  headers: keyIgnoredHeaders,
  response: {
    200: signedInSchema,
    ...errorResponses(...AUTH_ROUTE_ERRORS, ...BODY_ERRORS, 'INVALID_CREDENTIALS', 'RATE_LIMITED'),
  },
};

export const refreshSchema = {
  operationId: 'agentRefresh',
  tags: ['Agents'],
  summary: 'A new access token for the refresh cookie (which is rotated)',
  security: [],
  headers: keyIgnoredHeaders,
  response: { 200: signedInSchema, ...errorResponses(...AUTH_ROUTE_ERRORS, 'SESSION_INVALID', 'FORBIDDEN') },
};

export const switchOrgSchema = {
  operationId: 'agentSwitchOrg',
  tags: ['Agents'],
  summary: "Switch to another org of the signed-in person's, without the password",
  description:
    'Opens a session as the agent in `orgID` that the same password opens (one of `orgs` in the sign-in answer), ' +
    'sets its refresh cookie and ends the session of the token that asked. Any other org is 404.',
  body: z.object({ orgID: identifier(100) }),
  headers: keyIgnoredHeaders,
  response: { 200: signedInSchema, ...errorResponses(...V1_ERRORS, ...BODY_ERRORS, 'FORBIDDEN', 'NOT_FOUND') },
};

export const signOutSchema = {
  operationId: 'agentSignOut',
  tags: ['Agents'],
  summary: 'End the session of the refresh cookie or of the agent token',
  description: 'Takes the refresh cookie, or an agent bearer token (optional; a bad one is refused as anywhere).',
  security: [],
  headers: keyIgnoredHeaders,
  response: { 200: okResponse, ...errorResponses(...V1_ERRORS, 'FORBIDDEN') },
};

const agentParams = z.object({ id: z.string() });
const TEAM_ERRORS = [...V1_ERRORS, 'FORBIDDEN'] as const;

export const getMeSchema = {
  operationId: 'getCurrentAgent',
  tags: ['Agents'],
  summary: 'The signed-in agent',
  response: { 200: agentSchema, ...errorResponses(...TEAM_ERRORS) },
};

export const listAgentsSchema = {
  operationId: 'listAgents',
  tags: ['Agents'],
  summary: "The org's agents (admin agent or Org-API-Key)",
  response: { 200: z.object({ data: z.array(agentSchema) }), ...errorResponses(...TEAM_ERRORS) },
};

export const createAgentSchema = {
  operationId: 'createAgent',
  tags: ['Agents'],
  summary: 'Add an agent; answers their one-time sign-in link (admin agent or Org-API-Key)',
  body: z.object({ email: emailField, name: text(100), role: roleField.optional() }),
  headers: keyIgnoredHeaders,
  response: { 201: createAgentResponse, ...errorResponses(...TEAM_ERRORS, ...BODY_ERRORS, 'CONFLICT') },
};

export const updateAgentSchema = {
  operationId: 'updateAgent',
  tags: ['Agents'],
  summary: 'Rename, change the role, disable or enable an agent (admin agent or Org-API-Key)',
  description: 'Disabling ends every session of the agent and their open streams at once.',
  params: agentParams,
  body: z.object({
    name: text(100).optional(),
    role: roleField.optional(),
    disabled: z.boolean({ error: 'must be true or false' }).optional(),
  }),
  response: { 200: agentSchema, ...errorResponses(...TEAM_ERRORS, ...BODY_ERRORS, 'NOT_FOUND') },
};

export const listSessionsSchema = {
  operationId: 'listAgentSessions',
  tags: ['Agents'],
  summary: "An agent's live sessions (admin, Org-API-Key, or the agent)",
  params: agentParams,
  response: { 200: z.object({ data: z.array(agentSessionSchema) }), ...errorResponses(...TEAM_ERRORS, 'NOT_FOUND') },
};

export const revokeSessionsSchema = {
  operationId: 'revokeAgentSessions',
  tags: ['Agents'],
  summary: 'Sign an agent out everywhere (admin, Org-API-Key, or the agent)',
  params: agentParams,
  response: {
    200: z.object({ ok: z.literal(true), revoked: z.number().int().min(0) }),
    ...errorResponses(...TEAM_ERRORS, 'NOT_FOUND'),
  },
};

export const revokeSessionSchema = {
  operationId: 'revokeAgentSession',
  tags: ['Agents'],
  summary: 'End one agent session (admin, Org-API-Key, or its agent)',
  params: z.object({ id: z.string() }),
  response: { 200: z.object({ id: z.string(), ok: z.literal(true) }), ...errorResponses(...TEAM_ERRORS, 'NOT_FOUND') },
};
