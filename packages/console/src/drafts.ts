import type { Agent } from '@concierge/sdk/agent';

/** A reply or note whose send failed in a way a retry may fix (the network, the server): sent again with its key. */
export interface UnsentEntry {
  localID: string;
  body: string;
  /** The Idempotency-Key of the first attempt: a retry of a send that did land is never posted twice. */
  key: string;
  note: boolean;
  error: string;
}

/** What the agent has not sent yet in one conversation: the composer's text and mode, and failed sends. */
export interface Draft {
  body: string;
  note: boolean;
  /** Why the server refused the text now in the composer (too long, …): shown until it is sent or discarded. */
  error: string | null;
  unsent: UnsentEntry[];
}

export const EMPTY_DRAFT: Draft = Object.freeze({ body: '', note: false, error: null, unsent: [] });

/** Storage is the browser's, written by older or newer consoles too: only well-formed entries are read back. */
function isUnsent(u: unknown): u is UnsentEntry {
  if (typeof u !== 'object' || u === null) return false;
  const e = u as Record<string, unknown>;
  return (
    typeof e.localID === 'string' &&
    typeof e.body === 'string' &&
    typeof e.key === 'string' &&
    typeof e.note === 'boolean' &&
    typeof e.error === 'string'
  );
}

function isEmpty(d: Draft): boolean {
  return d.body === '' && d.error === null && d.unsent.length === 0 && !d.note;
}

/** True when the conversation holds something the agent wrote and has not sent: what the inbox marks. */
export function holdsText(d: Draft): boolean {
  return d.body.trim() !== '' || d.unsent.length > 0;
}

type Listener = () => void;

/**
 * One agent's drafts in one org, per conversation, in localStorage: they outlive switching conversations, a
 * reload and a crash, and stay apart from another agent's (or org's) on a shared computer. Writes are the
 * composer's own (a keystroke each): the whole map is small. Other tabs of the same agent see the changes through
 * the `storage` event.
 */
export class Drafts {
  private drafts = new Map<string, Draft>();
  private readonly listeners = new Set<Listener>();

  constructor(private readonly storageKey: string) {
    this.drafts = this.read();
    window.addEventListener('storage', (e) => {
      if (e.key !== this.storageKey) return;
      this.drafts = this.read();
      this.notify();
    });
  }

  get(conversationID: string): Draft {
    return this.drafts.get(conversationID) ?? EMPTY_DRAFT;
  }

  /** The conversations that hold unsent text. */
  held(): ReadonlySet<string> {
    return new Set([...this.drafts].filter(([, d]) => holdsText(d)).map(([id]) => id));
  }

  update(conversationID: string, change: (d: Draft) => Draft): void {
    const next = change(this.get(conversationID));
    if (isEmpty(next)) this.drafts.delete(conversationID);
    else this.drafts.set(conversationID, next);
    this.write();
    this.notify();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private read(): Map<string, Draft> {
    try {
      const raw = localStorage.getItem(this.storageKey);
      if (raw === null) return new Map();
      const parsed = JSON.parse(raw) as Record<string, Partial<Draft>>;
      const out = new Map<string, Draft>();
      for (const [id, d] of Object.entries(parsed))
        out.set(id, {
          body: typeof d.body === 'string' ? d.body : '',
          note: d.note === true,
          error: typeof d.error === 'string' ? d.error : null,
          unsent: Array.isArray(d.unsent) ? d.unsent.filter(isUnsent) : [],
        });
      return out;
    } catch {
      // Storage off (a private window) or unreadable: drafts then live as long as the page.
      return new Map();
    }
  }

  private write(): void {
    try {
      if (this.drafts.size === 0) localStorage.removeItem(this.storageKey);
      else localStorage.setItem(this.storageKey, JSON.stringify(Object.fromEntries(this.drafts)));
    } catch {
      // Full or off: the drafts stay in this page's memory.
    }
  }
}

const stores = new Map<string, Drafts>();

/** The drafts of this agent in this org (an agent's id belongs to one org; the org is in the key to be plain). */
export function draftsOf(me: Pick<Agent, 'id' | 'orgID'>): Drafts {
  const key = `concierge.drafts.${me.orgID}.${me.id}`;
  let store = stores.get(key);
  if (store === undefined) {
    store = new Drafts(key);
    stores.set(key, store);
  }
  return store;
}
