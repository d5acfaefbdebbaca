import type { Agent, AgentSession } from '@concierge/sdk/agent';
import { useEffect, useState } from 'preact/hooks';
import { agent } from './client.js';
import { fullTime } from './format.js';
import { describeUserAgent } from './user-agent.js';

/** The agent's own sessions (browsers signed in as them): end one, or sign out everywhere. */
export function SessionsPanel(props: { me: Agent; onError: (error: unknown) => void; onSignedOut: () => void }) {
  const [sessions, setSessions] = useState<AgentSession[] | null>(null);
  const load = async () => {
    try {
      setSessions(await agent.listSessions({ agentID: props.me.id }));
    } catch (e) {
      props.onError(e);
    }
  };
  useEffect(() => void load(), []);

  const end = async (s: AgentSession) => {
    try {
      await agent.revokeSession({ sessionID: s.id });
      if (s.current) props.onSignedOut();
      else await load();
    } catch (e) {
      props.onError(e);
    }
  };
  const everywhere = async () => {
    try {
      await agent.revokeAllSessions({ agentID: props.me.id });
    } catch (e) {
      props.onError(e);
    }
    props.onSignedOut();
  };

  return (
    <div class="panel">
      <h2>Your sessions</h2>
      <ul class="sessions">
        {(sessions ?? []).map((s) => (
          <li key={s.id}>
            <div>
              <strong title={s.userAgent ?? undefined}>
                {(s.userAgent === null ? null : describeUserAgent(s.userAgent)) ?? 'Unknown browser'}
              </strong>
              {s.current && <span class="tag awaiting"> This browser</span>}
            </div>
            <div class="muted">
              Signed in {fullTime(s.createdAt)} · last used {fullTime(s.lastUsedAt)}
            </div>
            <button type="button" class="btn small" onClick={() => void end(s)}>
              {s.current ? 'Sign out here' : 'End this session'}
            </button>
          </li>
        ))}
      </ul>
      <button type="button" class="btn" onClick={() => void everywhere()}>
        Sign out everywhere
      </button>
    </div>
  );
}
