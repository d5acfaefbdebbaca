import { z } from 'zod';
import { LIMITS } from '../../limits.js';
import { BODY_ERRORS, errorResponses, V1_ERRORS } from '../errors.js';
import { identifier, text } from '../fields.js';
import { keyIgnoredHeaders } from '../headers.js';
import { operation } from '../operation.js';
import {
  agentSchema,
  createAgentResponse,
  listAgentSessionsResponse,
  listAgentsResponse,
  listTeammatesResponse,
  revokeAgentSessionResponse,
  revokeAgentSessionsResponse,
  signedInSchema,
} from '../team.js';
import { okResponse } from '../wire.js';

const EMAIL = /^[^@\s]+@[^@\s]+$/;
export const emailField = identifier(254)
  .refine((s) => EMAIL.test(s), 'must be an email address')
  .meta({ format: 'email', description: 'Compared without regard to case.' });

const MIN = LIMITS.passwordMinChars;
const passwordField = z
  .string({ error: 'must be a string' })
  // eslint-disable-next-line no-control-regex -- refusing NUL is the point
  .refine((s) => !/\u0000/.test(s), 'must not contain a NUL character')
  .refine((s) => [...s].length >= MIN, `must be at least ${MIN} characters`)
  .refine((s) => s.length <= 1024, 'must be at most 1024 characters')
  .meta({ minLength: MIN, maxLength: 1024 });

const roleField = z.enum(['admin', 'agent'], { error: "must be 'admin' or 'agent'" });

/** Routes of the sign-in itself: no bearer, so none of the credential's refusals. */
const AUTH_ROUTE_ERRORS = V1_ERRORS.filter(
  (c) => !['UNAUTHORIZED', 'TOKEN_EXPIRED', 'TOKEN_INVALID', 'TOKEN_REVOKED', 'API_KEY_INVALID'].includes(c),
);

const signIn = { tags: ['Agents'], callers: 'public', refusal: 'FORBIDDEN' } as const;

export const agentSetup = operation({
  ...signIn,
  operationId: 'agentSetup',
  method: 'POST',
  path: '/v1/agent-auth/setup',
  noStore: true,
  summary: "Set an agent's password through a one-time sign-in link, and sign in",
  body: z.object({ token: z.string({ error: 'must be a string' }).min(1).max(200), password: passwordField }),
  headers: keyIgnoredHeaders,
  response: { 200: signedInSchema, ...errorResponses(...AUTH_ROUTE_ERRORS, ...BODY_ERRORS, 'SIGN_IN_LINK_INVALID') },
});

export const agentSignIn = operation({
  ...signIn,
  operationId: 'agentSignIn',
  method: 'POST',
  path: '/v1/agent-auth/sign-in',
  noStore: true,
  summary: 'Sign an agent in with email and password',
  description:
    'The password opens the agents of this email it was set for, in any org; the answer signs in to the oldest ' +
    'and lists the others in `orgs`. A wrong email and a wrong password get the same answer after the same work, ' +
    'whatever orgs the email is an agent of.',
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
});

export const agentRefresh = operation({
  ...signIn,
  operationId: 'agentRefresh',
  method: 'POST',
  path: '/v1/agent-auth/refresh',
  noStore: true,
  summary: 'A new access token for the refresh cookie (which is rotated)',
  headers: keyIgnoredHeaders,
  response: { 200: signedInSchema, ...errorResponses(...AUTH_ROUTE_ERRORS, 'SESSION_INVALID', 'FORBIDDEN') },
});

export const agentSwitchOrg = operation({
  operationId: 'agentSwitchOrg',
  method: 'POST',
  path: '/v1/agent-auth/switch',
  noStore: true,
  callers: ['agent'],
  refusal: 'FORBIDDEN',
  tags: ['Agents'],
  summary: "Switch to another org of the signed-in person's, without the password",
  description:
    'Opens a session as the agent in `orgID` that the same password opens (one of `orgs` in the sign-in answer), ' +
    'sets its refresh cookie and ends the session of the token that asked. Any other org is 404.',
  body: z.object({ orgID: identifier(100) }),
  headers: keyIgnoredHeaders,
  response: { 200: signedInSchema, ...errorResponses(...V1_ERRORS, ...BODY_ERRORS, 'FORBIDDEN', 'NOT_FOUND') },
});

export const agentSignOut = operation({
  ...signIn,
  operationId: 'agentSignOut',
  method: 'POST',
  path: '/v1/agent-auth/sign-out',
  summary: 'End the session of the refresh cookie or of the agent token',
  description: 'Takes the refresh cookie, or an agent bearer token (optional; a bad one is refused as anywhere).',
  headers: keyIgnoredHeaders,
  response: { 200: okResponse, ...errorResponses(...V1_ERRORS, 'FORBIDDEN') },
});

const agentParams = z.object({ id: z.string() });
const TEAM_ERRORS = [...V1_ERRORS, 'FORBIDDEN'] as const;
const admins = { tags: ['Agents'], callers: ['admin', 'key'], refusal: 'FORBIDDEN' } as const;
const team = { tags: ['Agents'], callers: ['agent', 'key'], refusal: 'FORBIDDEN' } as const;

export const getCurrentAgent = operation({
  operationId: 'getCurrentAgent',
  method: 'GET',
  path: '/v1/agents/me',
  callers: ['agent'],
  refusal: 'FORBIDDEN',
  tags: ['Agents'],
  summary: 'The signed-in agent',
  response: { 200: agentSchema, ...errorResponses(...TEAM_ERRORS) },
});

export const listAgents = operation({
  ...admins,
  operationId: 'listAgents',
  method: 'GET',
  path: '/v1/agents',
  summary: "The org's agents (admin agent or Org-API-Key)",
  response: { 200: listAgentsResponse, ...errorResponses(...TEAM_ERRORS) },
});

export const listTeammates = operation({
  operationId: 'listTeammates',
  method: 'GET',
  path: '/v1/teammates',
  callers: ['agent'],
  refusal: 'FORBIDDEN',
  tags: ['Agents'],
  summary: "The names of the org's agents, for any agent",
  description:
    'Every agent of the org, disabled ones included (the authors of old replies and notes stay named), with their ' +
    'name and role but not their email: what a console shows beside replies, notes and assignments. The full ' +
    'list, with emails, is `GET /v1/agents` (admins and the Org-API-Key).',
  response: { 200: listTeammatesResponse, ...errorResponses(...TEAM_ERRORS) },
});

export const createAgent = operation({
  ...admins,
  operationId: 'createAgent',
  method: 'POST',
  path: '/v1/agents',
  noStore: true,
  summary: 'Add an agent; answers their one-time sign-in link (admin agent or Org-API-Key)',
  body: z.object({ email: emailField, name: text(100), role: roleField.optional() }),
  headers: keyIgnoredHeaders,
  response: { 201: createAgentResponse, ...errorResponses(...TEAM_ERRORS, ...BODY_ERRORS, 'CONFLICT') },
});

export const updateAgent = operation({
  ...admins,
  operationId: 'updateAgent',
  method: 'PATCH',
  path: '/v1/agents/{id}',
  summary: 'Rename, change the role, disable or enable an agent (admin agent or Org-API-Key)',
  description: 'Disabling ends every session of the agent and their open streams at once.',
  params: agentParams,
  body: z.object({
    name: text(100).optional(),
    role: roleField.optional(),
    disabled: z.boolean({ error: 'must be true or false' }).optional(),
  }),
  response: { 200: agentSchema, ...errorResponses(...TEAM_ERRORS, ...BODY_ERRORS, 'NOT_FOUND') },
});

export const listAgentSessions = operation({
  ...team,
  operationId: 'listAgentSessions',
  method: 'GET',
  path: '/v1/agents/{id}/sessions',
  summary: "An agent's live sessions (admin, Org-API-Key, or the agent)",
  params: agentParams,
  response: { 200: listAgentSessionsResponse, ...errorResponses(...TEAM_ERRORS, 'NOT_FOUND') },
});

export const revokeAgentSessions = operation({
  ...team,
  operationId: 'revokeAgentSessions',
  method: 'DELETE',
  path: '/v1/agents/{id}/sessions',
  summary: 'Sign an agent out everywhere (admin, Org-API-Key, or the agent)',
  params: agentParams,
  response: { 200: revokeAgentSessionsResponse, ...errorResponses(...TEAM_ERRORS, 'NOT_FOUND') },
});

export const revokeAgentSession = operation({
  ...team,
  operationId: 'revokeAgentSession',
  method: 'DELETE',
  path: '/v1/agent-sessions/{id}',
  summary: 'End one agent session (admin, Org-API-Key, or its agent)',
  params: z.object({ id: z.string() }),
  response: { 200: revokeAgentSessionResponse, ...errorResponses(...TEAM_ERRORS, 'NOT_FOUND') },
});
