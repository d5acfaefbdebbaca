import { useCallback, useEffect, useState } from 'preact/hooks';
import { VIEWS, type ViewID } from './views.js';

/** The pane the main column shows: the open conversation (or none), the team, or the agent's sessions. */
export type Panel = 'inbox' | 'team' | 'sessions';

/**
 * What the console shows, as its URL holds it (docs/console.md, "Links"), so a reload, Back and Forward, and a link
 * pasted to a colleague all reopen the same screen:
 *
 * - `/console/?view=mine&q=words`: a view (Unassigned when absent) and a search in it;
 * - `/console/c/<conversationID>?member=<externalUserID>&view=…&q=…`: a conversation over that list, read by its
 *   id (`GET /v1/inbox/{id}`); the member's id makes the link say whose conversation it is, and is not needed to
 *   open it;
 * - `/console/team`, `/console/sessions`: those panels.
 */
export interface Route {
  view: ViewID;
  q: string;
  panel: Panel;
  conversationID: string | null;
  member: string | null;
}

const BASE = '/console/';
const DEFAULT_VIEW: ViewID = 'unassigned';

function isView(id: string | null): id is ViewID {
  return id !== null && VIEWS.some((v) => v.id === id);
}

export function parseRoute(url: { pathname: string; search: string }): Route {
  const params = new URLSearchParams(url.search);
  const view = params.get('view');
  const rest = url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length) : '';
  const [head, id] = rest.split('/');
  const conversationID = head === 'c' && id !== undefined && id !== '' ? decodeURIComponent(id) : null;
  return {
    view: isView(view) ? view : DEFAULT_VIEW,
    q: params.get('q') ?? '',
    panel: head === 'team' ? 'team' : head === 'sessions' ? 'sessions' : 'inbox',
    conversationID,
    member: conversationID === null ? null : params.get('member'),
  };
}

export function routeURL(route: Route): string {
  const params = new URLSearchParams();
  const path =
    route.panel !== 'inbox'
      ? route.panel
      : route.conversationID !== null
        ? `c/${encodeURIComponent(route.conversationID)}`
        : '';
  if (route.panel === 'inbox' && route.conversationID !== null && route.member !== null)
    params.set('member', route.member);
  if (route.view !== DEFAULT_VIEW) params.set('view', route.view);
  if (route.q !== '') params.set('q', route.q);
  const search = params.toString();
  return `${BASE}${path}${search === '' ? '' : `?${search}`}`;
}

/**
 * The route and a way to move: `push` adds a history entry (a view, a conversation, a panel opened), `replace`
 * rewrites the current one (each keystroke of a search). Back and Forward come back through `popstate`.
 */
export function useRoute(): [Route, (next: Route, how?: 'push' | 'replace') => void] {
  const [route, setRoute] = useState(() => parseRoute(location));
  useEffect(() => {
    const onPop = () => setRoute(parseRoute(location));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const go = useCallback((next: Route, how: 'push' | 'replace' = 'push') => {
    const url = routeURL(next);
    if (url !== location.pathname + location.search) {
      if (how === 'push') history.pushState(null, '', url);
      else history.replaceState(null, '', url);
    }
    setRoute(next);
  }, []);
  return [route, go];
}
