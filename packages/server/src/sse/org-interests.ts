import type { Interest, Store } from '@concierge/store';

/**
 * The hub's interests in the store's event feed: one per org that has a stream on this instance, held from its
 * first stream to its last. On a networked store an instance reads an org's events only while it holds one, so an
 * org whose members and team are connected elsewhere costs this instance nothing.
 */
export class OrgInterests {
  private readonly held = new Map<string, { streams: number; interest: Interest; ready: Promise<void> }>();

  constructor(
    private readonly store: Pick<Store, 'watch'>,
    /**
     * The store positioned the org's feed: its live events follow this seq. What the hub knew of the org before
     * (from an earlier interest) is stale up to it.
     */
    private readonly onPositioned: (orgID: string, seq: number) => void,
  ) {}

  /** A stream of the org starts; resolves once the org's events flow (see `Interest.ready`). */
  take(orgID: string): Promise<void> {
    let h = this.held.get(orgID);
    if (h === undefined) {
      const interest = this.store.watch(orgID);
      const ready = interest.ready.then((seq) => {
        if (seq !== null) this.onPositioned(orgID, seq);
      });
      this.held.set(orgID, (h = { streams: 0, interest, ready }));
    }
    h.streams++;
    return h.ready;
  }

  /** A stream of the org ended. */
  drop(orgID: string): void {
    const h = this.held.get(orgID);
    if (h === undefined || --h.streams > 0) return;
    this.held.delete(orgID);
    h.interest.release();
  }
}
