import type { InboxCounts, InboxQuery } from '@concierge/sdk/agent';

export type ViewID = 'unassigned' | 'mine' | 'open' | 'awaiting' | 'closed';

export interface View {
  id: ViewID;
  label: string;
  query: InboxQuery;
  count: keyof InboxCounts;
}

/** The inbox views, each a filter of `GET /v1/inbox` and the count that `GET /v1/inbox/counts` gives it. */
export const VIEWS: readonly View[] = [
  { id: 'unassigned', label: 'Unassigned', query: { status: 'open', assignee: 'none' }, count: 'unassigned' },
  { id: 'mine', label: 'Mine', query: { status: 'open', assignee: 'me' }, count: 'mine' },
  { id: 'open', label: 'All open', query: { status: 'open' }, count: 'open' },
  { id: 'awaiting', label: 'Awaiting reply', query: { status: 'open', awaiting: true }, count: 'awaiting' },
  { id: 'closed', label: 'Closed', query: { status: 'closed' }, count: 'closed' },
];
