import type { MessageRecord } from '../store.js';

/** The columns of a message page, read as arrays (`raw`), not objects: half the cost per row on the list path. */
export const PAGE_COLUMNS = 'seq, id, type, author_id, body, via, created_at, org_id';

/** One row of a page (`PAGE_COLUMNS`, in that order) as a MessageRecord; SQLite hands back text and integers. */
export function pageRow(conversationID: string, r: unknown[]): MessageRecord {
  return {
    id: r[1] as string,
    orgID: r[7] as string,
    conversationID,
    seq: Number(r[0]),
    type: r[2] as string,
    authorID: r[3] as string,
    body: (r[4] as string | null) ?? null,
    via: r[5] as MessageRecord['via'],
    createdAt: r[6] as string,
  };
}
