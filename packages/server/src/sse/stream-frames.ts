import type { ConversationRecord, MessageRecord, NoteRecord, StoredEvent } from '@concierge/store';
import { encodeCursor } from '../cursor.js';
import { renderConversation, renderMessage, renderNote } from '../render.js';
import { frame } from './frames.js';
import type { StreamScope } from './stream-scope.js';

/**
 * The frames of stored events as streams send them, with their `id:` positions signed by the cursor secret. The hub
 * renders each event once and writes the same bytes to every stream it goes to.
 */
export class StreamFrames {
  constructor(private readonly cursorSecret: Uint8Array) {}

  /** Per-conversation route: `id:` is the listMessages cursor, `data:` the Message exactly, no `event:`. */
  message(m: MessageRecord): Buffer {
    return frame({
      id: encodeCursor(this.cursorSecret, { kind: 'm', conversationID: m.conversationID, seq: m.seq }),
      data: JSON.stringify(renderMessage(m)),
    });
  }

  /** One-connection route: named events; `id:` resumes the whole stream of the org (filtered to the member). */
  event(e: StoredEvent): Buffer {
    let data: unknown;
    switch (e.type) {
      case 'message':
        data = { conversationID: e.conversationID, message: renderMessage(e.message!) };
        break;
      case 'conversation': {
        const c = e.payload as ConversationRecord;
        data = { conversation: renderConversation(c), externalUserID: c.externalUserID };
        break;
      }
      case 'read':
      case 'conversation.updated':
        data = e.payload;
        break;
      case 'note': {
        const { conversationID, note } = e.payload as { conversationID: string; note: NoteRecord };
        data = { conversationID, note: renderNote(note) };
        break;
      }
    }
    return frame({
      event: e.type,
      id: encodeCursor(this.cursorSecret, { kind: 'e', stream: e.orgID, seq: e.seq }),
      data: JSON.stringify(data),
    });
  }

  /** A stream's position as its `id:` carries it (a resume point). */
  position(scope: StreamScope, seq: number): string {
    return scope.kind === 'conversation'
      ? encodeCursor(this.cursorSecret, { kind: 'm', conversationID: scope.conversationID, seq })
      : encodeCursor(this.cursorSecret, { kind: 'e', stream: scope.orgID, seq });
  }
}
