import type { MessageRecord, StoredEvent, StoredEventType } from './store.js';

type Row = Record<string, unknown>;

/**
 * One row of the event-log replay query (`events e LEFT JOIN messages m`, message columns prefixed `m_`) as a
 * StoredEvent. Both adapters run the same query; each passes its own message mapper, since the drivers hand back
 * timestamps and numbers differently.
 */
export function eventFromRow(r: Row, toMessage: (row: Row) => MessageRecord): StoredEvent {
  return {
    orgID: r.org_id as string,
    seq: Number(r.seq),
    type: r.type as StoredEventType,
    memberID: r.member_id as string,
    conversationID: r.conversation_id as string,
    payload: r.payload === null || r.payload === undefined ? null : (JSON.parse(r.payload as string) as unknown),
    message:
      r.m_id === null || r.m_id === undefined
        ? null
        : toMessage({
            id: r.m_id,
            org_id: r.org_id,
            conversation_id: r.conversation_id,
            seq: r.seq,
            type: r.m_type,
            author_id: r.m_author_id,
            body: r.m_body,
            via: r.m_via,
            created_at: r.m_created_at,
          }),
  };
}
