import type { Agent, AgentOrg, InboxCounts } from '@concierge/sdk/agent';
import type { Panel } from './route.js';
import { VIEWS, type ViewID } from './views.js';

export interface RailProps {
  me: Agent;
  orgs: AgentOrg[];
  counts: InboxCounts | null;
  /** The view marked current; null while a search or another panel is on screen. */
  current: ViewID | null;
  panel: Panel;
  onView: (id: ViewID) => void;
  onPanel: (panel: Panel) => void;
  onSwitchOrg: (orgID: string) => void;
  onSignOut: () => void;
}

/** The views with their counts, the team and sessions panels, and who is signed in (a strip on a phone). */
export function Rail(props: RailProps) {
  const { me } = props;
  return (
    <nav class="rail" aria-label="Views">
      <div class="brand" aria-hidden="true">
        <span class="logo">C</span> Concierge
      </div>
      <ul class="views">
        {VIEWS.map((v) => (
          <li key={v.id}>
            <button
              type="button"
              class="view"
              aria-current={v.id === props.current ? 'page' : undefined}
              onClick={() => props.onView(v.id)}
            >
              <span>{v.label}</span>
              <span class="count">
                {props.counts === null ? '·' : props.counts[v.count]}
                <span class="visually-hidden"> conversations</span>
              </span>
            </button>
          </li>
        ))}
      </ul>
      <ul class="rail-links">
        {me.role === 'admin' && (
          <li>
            <button
              type="button"
              class="view"
              aria-current={props.panel === 'team' ? 'page' : undefined}
              onClick={() => props.onPanel('team')}
            >
              Team
            </button>
          </li>
        )}
        <li>
          <button
            type="button"
            class="view"
            aria-current={props.panel === 'sessions' ? 'page' : undefined}
            onClick={() => props.onPanel('sessions')}
          >
            Sessions
          </button>
        </li>
      </ul>
      <div class="me">
        {props.orgs.length > 1 && (
          <>
            <label for="org" class="me-email">
              Organisation
            </label>
            <select
              id="org"
              class="org-switch"
              value={me.orgID}
              onChange={(e) => props.onSwitchOrg((e.target as HTMLSelectElement).value)}
            >
              {props.orgs.map((o) => (
                <option key={o.orgID} value={o.orgID}>
                  {o.orgName}
                </option>
              ))}
            </select>
          </>
        )}
        <div class="me-name">{me.name}</div>
        <div class="me-email">{me.email}</div>
        <button type="button" class="link" onClick={props.onSignOut}>
          Sign out
        </button>
      </div>
    </nav>
  );
}
