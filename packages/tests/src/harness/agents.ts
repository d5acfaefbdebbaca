import type { Api, CallResult } from './http.js';
import type { TestServer } from './server.js';

/** A signed-in agent as the tests hold one: the access token, the refresh cookie (`name=value`), the agent. */
export interface AgentSignIn {
  token: string;
  cookie: string;
  agent: { id: string; orgID: string; email: string; name: string; role: string };
  response: CallResult;
}

export const PASSWORD = 'correct horse battery staple';

/** The `concierge_refresh=…` pair of an answer's Set-Cookie, as a browser would send it back. */
export function refreshCookie(r: CallResult): string {
  const set = r.headers.get('set-cookie') ?? '';
  const m = /concierge_refresh=[^;]*/.exec(set);
  if (m === null) throw new Error(`no refresh cookie in: ${set}`);
  return m[0];
}

/** The one-time link token in a sign-in link. */
export function linkToken(link: string): string {
  const m = /#token=([A-Za-z0-9_-]+)$/.exec(link);
  if (m === null) throw new Error(`not a sign-in link: ${link}`);
  return m[1]!;
}

export async function setup(api: Api, token: string, password = PASSWORD): Promise<AgentSignIn> {
  const r = await api.post('/v1/agent-auth/setup', { body: { token, password } });
  if (r.status !== 200) throw new Error(`setup failed: ${r.status} ${r.text}`);
  return { token: r.json.accessToken, cookie: refreshCookie(r), agent: r.json.agent, response: r };
}

/** The first-start admin, through the link the banner printed. */
export async function firstAdmin(api: Api, server: TestServer): Promise<AgentSignIn> {
  const m = /Console: +(\S+)/.exec(server.stdout);
  if (m === null) throw new Error(`no console link in the banner:\n${server.stdout}`);
  return setup(api, linkToken(m[1]!));
}

/** A new agent created by `admin` (a token or the Org-API-Key), signed in through their link. */
export async function newAgent(
  api: Api,
  admin: string,
  email: string,
  role: 'admin' | 'agent' = 'agent',
): Promise<AgentSignIn> {
  const r = await api.post('/v1/agents', { token: admin, body: { email, name: email.split('@')[0], role } });
  if (r.status !== 201) throw new Error(`create agent failed: ${r.status} ${r.text}`);
  return setup(api, linkToken(r.json.signInLink));
}
