import type { ServerResponse } from 'node:http';
import { TEAM_ONLY_EVENTS, type Ephemeral, type Store, type StoredEvent } from '@concierge/store';
import type { Authenticator, Principal } from '../auth/authenticator.js';
import type { ServerConfig } from '../config.js';
import { frame, HEARTBEAT, retryHint } from './frames.js';
import { OrgInterests } from './org-interests.js';
import { ResumePoints } from './resume-points.js';
import { StreamChecks } from './stream-checks.js';
import { scopeMember, type StreamScope } from './stream-scope.js';
import { StreamFrames } from './stream-frames.js';
import { pendingBytes, Subscriber, type Pending } from './subscriber.js';

export type { StreamScope } from './stream-scope.js';

const REPLAY_PAGE = 500;
const REPLAY_HIGH_WATER = 256 * 1024;
/**
 * A replay waits this long at least (or three heartbeats if longer) for a socket to drain: a slow mobile link may
 * need that long to take the 256 KiB queued, and a short heartbeat must not cut it off.
 */
const REPLAY_DRAIN_MIN_SECONDS = 30;

const TYPING_MIN_INTERVAL_MS = 1000;
/** Signals a starting stream holds until it is live: a typing indicator or two per conversation is all they are. */
const MAX_HELD_SIGNALS = 16;

/**
 * The fan-out hub. The store tells it of every commit (in seq order per org); it renders each event's bytes
 * once and writes the same Buffer to every subscriber of that event. A subscriber whose socket does not drain
 * (more than `streamBufferBytes` queued) is disconnected: it resumes with its last id and loses nothing, and
 * nobody else waits for it.
 *
 * Replay and live hand-over: a subscriber is registered (buffering live events) before its replay query runs;
 * after the replay, buffered events at or below the last replayed seq are dropped and the rest are written.
 * Seqs grow in commit order within an org, so nothing is missed and nothing is sent twice.
 */
export class Hub {
  private readonly byConversation = new Map<string, Set<Subscriber>>();
  private readonly byMember = new Map<string, Set<Subscriber>>();
  private readonly byOrg = new Map<string, Set<Subscriber>>();
  /** Every stream a member principal holds, whatever its scope: for limits and revocation. */
  private readonly byPrincipalMember = new Map<string, Set<Subscriber>>();
  private readonly lastTyping = new Map<string, number>();
  /** Per org, the highest seq published to subscribers: every event at or below it has been fanned out. */
  private readonly published = new Map<string, number>();
  private readonly interests: OrgInterests;
  private readonly checks: StreamChecks;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private readonly unsubscribeEphemeral: () => void;
  private count = 0;
  private shuttingDown = false;
  private readonly points: ResumePoints;
  private readonly frames: StreamFrames;
  /** Resume-point work in flight (records at an end, takes at a start): shutdown waits for it. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly auth: Authenticator,
    private readonly config: ServerConfig,
    cursorSecret: Uint8Array,
  ) {
    this.points = new ResumePoints(store);
    this.checks = new StreamChecks(
      store,
      auth,
      () => this.all(),
      (sub) => this.end(sub),
      () => this.shuttingDown,
    );
    this.frames = new StreamFrames(cursorSecret);
    // Where the store positioned an org's feed, everything up to there is as good as published: the events that
    // follow are all handed over.
    this.interests = new OrgInterests(store, (orgID, seq) => {
      if (seq > (this.published.get(orgID) ?? 0)) this.published.set(orgID, seq);
    });
    this.unsubscribe = store.onCommit((events) => this.publish(events));
    this.unsubscribeEphemeral = store.onEphemeral((m) => {
      if (m.kind === 'typing') this.deliverTyping(m);
      else if (m.kind === 'webhook-disabled') this.deliverWebhookDisabled(m);
    });
    this.heartbeat = setInterval(() => this.beat(), config.heartbeatSeconds * 1000).unref();
    auth.on('revoked', (memberID: string, deleted: boolean) => {
      // A removed member's streams leave no resume point: there is nothing left to resume.
      for (const sub of [...(this.byPrincipalMember.get(memberID) ?? [])]) this.end(sub, !deleted);
      // A removed member's data is gone: streams a server credential opened on it end too.
      if (deleted) for (const sub of this.all()) if (scopeMember(sub.scope) === memberID) this.end(sub, false);
    });
    // Revocations and removals signalled while the channel was down are lost: check every stream's member.
    auth.on('resync', () => {
      void this.checks.members();
      void this.checks.agents();
    });
    // A disabled agent, or an ended session: their streams end at once, on every instance.
    auth.on('agent-revoked', (agentID: string, sessionID: string | null) => {
      for (const sub of [...this.all()]) {
        const p = sub.principal;
        if (p.kind === 'agent' && p.agentID === agentID && (sessionID === null || p.sessionID === sessionID))
          this.end(sub);
      }
    });
  }

  get size(): number {
    return this.count;
  }

  /** Streams the member principal holds now (for the per-member limit, checked before a stream starts). */
  streamsOf(memberID: string): number {
    return this.byPrincipalMember.get(memberID)?.size ?? 0;
  }

  /**
   * Starts a stream on a response whose headers the caller has prepared. `afterSeq` null starts live; a number
   * replays everything after it first.
   */
  async open(res: ServerResponse, scope: StreamScope, principal: Principal, afterSeq: number | null): Promise<void> {
    const sub = new Subscriber(res, scope, principal);
    if (this.shuttingDown) {
      res.end();
      return;
    }
    sub.pending = [];
    this.add(sub);
    const fed = sub.fed!;
    res.on('close', () => this.remove(sub));
    if (principal.kind === 'member') {
      const ms = Math.max(0, Math.min(principal.expiresAt - Date.now(), 2 ** 31 - 1));
      sub.timer = setTimeout(() => this.end(sub), ms);
      sub.timer.unref();
    }
    this.write(sub, retryHint(2000));
    // The org's live events must flow before the stream takes a position: on a networked store, from the first
    // stream of an org on this instance.
    if (!(await this.fed(sub, fed))) return;
    if (afterSeq === null) {
      // A live start still gets a resume point: an `id:` with no data (no event is dispatched, but the client's
      // last event id is set), so a drop before the first event resumes from here instead of losing what came
      // in between. Only once the hub knows how far it has published this org: a position read from the store
      // could include commits not yet published, which would then be skipped as already seen. Taken once the
      // org's events flow: what is published while the resume point is looked up below is held in `pending`.
      const watermark = this.published.get(scope.orgID);
      if (watermark !== undefined) {
        sub.lastSeq = watermark;
        sub.positioned = true;
      }
      // No resume point of its own: if one of the holder's streams of this scope was ended by the server a moment
      // ago, this is most likely its reconnect (the hosted API's SDKs send no Last-Event-ID), so it resumes there.
      const claim: { taken: number | null } = { taken: null };
      sub.claiming = this.points.take(sub.key).then(
        (seq) => {
          if (seq === null) return;
          claim.taken = seq;
          sub.lastSeq = seq;
          sub.positioned = true;
        },
        () => {}, // the store is unavailable: start live, as without a point
      );
      await this.tracked(sub.claiming);
      if (sub.closed) {
        // The client went away meanwhile: the point it took goes back for its next attempt.
        if (!sub.ended && claim.taken !== null) this.track(this.points.record(sub.key, claim.taken));
        return;
      }
      if (!sub.positioned) {
        sub.floor = this.store.latestEventSeq(scope.orgID).catch(() => null);
        this.goLive(sub);
        return;
      }
      this.write(sub, Buffer.from(`id: ${this.frames.position(scope, sub.lastSeq)}\n\n`, 'utf8'));
      afterSeq = sub.lastSeq;
    } else this.track(this.points.release(sub.key, afterSeq));
    sub.lastSeq = afterSeq;
    sub.positioned = true;
    try {
      for (;;) {
        const rows = await this.replayPage(scope, sub.lastSeq);
        for (const row of rows) {
          if (sub.closed) return;
          sub.res.write(row.bytes);
          sub.lastSeq = row.seq;
          // Replay honours backpressure instead of the slow-reader cut-off: history can be far larger than the
          // live buffer, and a reader that is draining it is not slow.
          if (sub.res.writableLength > REPLAY_HIGH_WATER && !(await this.drained(sub))) return;
        }
        if (rows.length < REPLAY_PAGE) break;
        // Live events held meanwhile are bounded too: a replay that falls that far behind starts over.
        if (pendingBytes(sub) > this.config.streamBufferBytes) {
          this.end(sub);
          return;
        }
      }
    } catch (error) {
      // The store failed mid-replay: end the stream; the client resumes from what it got.
      this.end(sub);
      throw error;
    }
    this.goLive(sub);
  }

  /**
   * Ends a stream's start: the live events held while it took its position and replayed are written (those the
   * replay covered are skipped), then the signals held meanwhile (typing, `webhook.disabled`), which carry no seq.
   */
  private goLive(sub: Subscriber): void {
    const held = sub.pending ?? [];
    sub.pending = null;
    for (const p of held) this.deliver(sub, p.seq, p.bytes);
    const signals = sub.signals;
    sub.signals = [];
    for (const bytes of signals) this.write(sub, bytes);
  }

  /** A signal (no seq, never replayed): written now, or held until the stream is live (a few at most). */
  private signal(sub: Subscriber, bytes: Buffer): void {
    if (sub.closed) return;
    if (sub.pending === null) this.write(sub, bytes);
    else if (sub.signals.length < MAX_HELD_SIGNALS) sub.signals.push(bytes);
  }

  /**
   * Waits until the org's live events flow to the hub; false (and the stream ended, without a resume point of its
   * own: the client's last id or the point it came with still holds) when the store cannot be read.
   */
  private async fed(sub: Subscriber, fed: Promise<void>): Promise<boolean> {
    try {
      await fed;
      return true;
    } catch {
      this.end(sub, false);
      return false;
    }
  }

  /** Waits for the socket to drain; false (and the stream ended) if it does not within three heartbeats. */
  private drained(sub: Subscriber): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        sub.res.off('drain', onDrain);
        sub.res.off('close', onClose);
        if (!ok) this.end(sub);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const seconds = Math.max(this.config.heartbeatSeconds * 3, REPLAY_DRAIN_MIN_SECONDS);
      const timer = setTimeout(() => done(false), seconds * 1000);
      sub.res.once('drain', onDrain);
      sub.res.once('close', onClose);
    });
  }

  private async replayPage(scope: StreamScope, after: number): Promise<Pending[]> {
    if (scope.kind === 'conversation') {
      const rows = await this.store.listMessagesAfter(scope.conversationID, after, REPLAY_PAGE);
      return rows.map((m) => ({ seq: m.seq, bytes: this.frames.message(m) }));
    }
    const memberID = scope.kind === 'member' ? scope.memberID : null;
    const rows = await this.store.listEventsAfter(scope.orgID, memberID, after, REPLAY_PAGE);
    return rows.map((e) => ({ seq: e.seq, bytes: this.frames.event(e) }));
  }

  private publish(events: readonly StoredEvent[]): void {
    for (const e of events) {
      if (e.seq > (this.published.get(e.orgID) ?? 0)) this.published.set(e.orgID, e.seq);
      if (e.type === 'message' && e.message !== null) {
        const subs = this.byConversation.get(e.conversationID);
        if (subs !== undefined && subs.size > 0) {
          const bytes = this.frames.message(e.message);
          for (const sub of subs) this.deliver(sub, e.seq, bytes);
        }
      }
      // A member's stream never carries the team's events (state changes, notes), whoever opened it.
      const members = TEAM_ONLY_EVENTS.includes(e.type) ? undefined : this.byMember.get(e.memberID);
      const orgs = this.byOrg.get(e.orgID);
      if ((members === undefined || members.size === 0) && (orgs === undefined || orgs.size === 0)) continue;
      const bytes = this.frames.event(e);
      if (members !== undefined) for (const sub of members) this.deliver(sub, e.seq, bytes);
      if (orgs !== undefined) for (const sub of orgs) this.deliver(sub, e.seq, bytes);
    }
  }

  /**
   * A typing indicator: not stored, no `id:` (a resumed stream does not replay it), throttled to one per second
   * per conversation and side, and sent to the other side only.
   */
  typing(
    conversation: { id: string; orgID: string; memberID: string },
    typist: 'member' | 'concierge',
    typistID: string,
  ): void {
    const key = `${conversation.id}\u0000${typist}`;
    const now = Date.now();
    if (now - (this.lastTyping.get(key) ?? 0) < TYPING_MIN_INTERVAL_MS) return;
    this.lastTyping.set(key, now);
    if (this.lastTyping.size > 100_000) this.lastTyping.clear();
    this.store.publishEphemeral({
      kind: 'typing',
      orgID: conversation.orgID,
      conversationID: conversation.id,
      memberID: conversation.memberID,
      typist,
      typistID,
      at: new Date(now).toISOString(),
    });
  }

  private deliverTyping(m: Extract<Ephemeral, { kind: 'typing' }>): void {
    const subs = m.typist === 'member' ? this.byOrg.get(m.orgID) : this.byMember.get(m.memberID);
    if (subs === undefined || subs.size === 0) return;
    const bytes = frame({
      event: 'typing',
      data: JSON.stringify({ conversationID: m.conversationID, typist: m.typist, typistID: m.typistID, at: m.at }),
    });
    for (const sub of subs) this.signal(sub, bytes);
  }

  /**
   * `webhook.disabled` on the org's streams: a signal like typing (no `id:`, not replayed), since the endpoint's
   * state, which `GET /v1/webhooks` shows, is what lasts.
   */
  private deliverWebhookDisabled(m: Extract<Ephemeral, { kind: 'webhook-disabled' }>): void {
    const subs = this.byOrg.get(m.orgID);
    if (subs === undefined || subs.size === 0) return;
    const bytes = frame({
      event: 'webhook.disabled',
      data: JSON.stringify({ endpointID: m.endpointID, url: m.url, reason: m.reason, disabledAt: m.at }),
    });
    for (const sub of subs) this.signal(sub, bytes);
  }

  private deliver(sub: Subscriber, seq: number, bytes: Buffer): void {
    if (sub.closed) return;
    if (sub.pending !== null) {
      sub.pending.push({ seq, bytes });
      return;
    }
    if (seq <= sub.lastSeq) return;
    sub.lastSeq = seq;
    this.write(sub, bytes);
  }

  private write(sub: Subscriber, bytes: Buffer): void {
    if (sub.closed) return;
    sub.res.write(bytes);
    // A reader that does not drain is cut off rather than buffered without bound; it resumes by its last id.
    if (sub.res.writableLength > this.config.streamBufferBytes) {
      this.remove(sub);
      sub.res.destroy();
      return;
    }
    // The token may have lapsed or been revoked since the last check: end at the next write at the latest. A
    // mark the cache no longer holds (evicted) is read from the store rather than taken as valid.
    const validity = this.auth.cachedValidity(sub.principal);
    if (validity === 'invalid') this.end(sub);
    else if (validity === 'unknown') this.recheck(sub);
  }

  private readonly rechecking = new Set<Subscriber>();

  /** Reads a stream's member mark from the store and ends the stream if the token is no longer good. */
  private recheck(sub: Subscriber): void {
    if (this.rechecking.has(sub)) return;
    this.rechecking.add(sub);
    this.auth
      .stillValid(sub.principal)
      .then((ok) => {
        if (!ok) this.end(sub);
      })
      // The store is unreachable: keep the stream; the next write or heartbeat asks again.
      .catch(() => {})
      .finally(() => this.rechecking.delete(sub));
  }

  private *all(): Generator<Subscriber> {
    for (const map of [this.byConversation, this.byMember, this.byOrg])
      for (const subs of map.values()) for (const sub of [...subs]) yield sub;
  }

  private beat(): void {
    for (const sub of this.all()) this.write(sub, HEARTBEAT);
    void this.checks.serverKeys();
    void this.checks.agents();
    if (!this.store.notificationsLive()) void this.checks.members();
  }

  private add(sub: Subscriber): void {
    const s = sub.scope;
    const [map, key] =
      s.kind === 'conversation'
        ? [this.byConversation, s.conversationID]
        : s.kind === 'member'
          ? [this.byMember, s.memberID]
          : [this.byOrg, s.orgID];
    addTo(map, key, sub);
    if (sub.memberID !== null) addTo(this.byPrincipalMember, sub.memberID, sub);
    sub.fed = this.interests.take(s.orgID);
    this.count++;
  }

  private remove(sub: Subscriber): void {
    if (sub.closed) return;
    sub.closed = true;
    sub.pending = null;
    if (sub.timer !== null) clearTimeout(sub.timer);
    const s = sub.scope;
    if (s.kind === 'conversation') removeFrom(this.byConversation, s.conversationID, sub);
    else if (s.kind === 'member') removeFrom(this.byMember, s.memberID, sub);
    else removeFrom(this.byOrg, s.orgID, sub);
    if (sub.memberID !== null) removeFrom(this.byPrincipalMember, sub.memberID, sub);
    this.interests.drop(s.orgID);
    this.count--;
  }

  /**
   * Ends a stream cleanly (the client reconnects with its last id). Unless `resumable` is false, where it stopped
   * is recorded first (a resume point, and an id-only frame with it), so a reconnect without `Last-Event-ID`
   * resumes there; the response ends once the point is stored, so the reconnect always finds it.
   */
  private end(sub: Subscriber, resumable = true): void {
    if (sub.closed) return;
    sub.ended = true;
    // Taken now: what is published from here on is not sent on this stream, so the point must not cover it.
    const watermark = sub.pending === null ? this.published.get(sub.scope.orgID) : undefined;
    this.remove(sub);
    if (!resumable) {
      sub.res.end();
      return;
    }
    this.track(this.leave(sub, watermark).finally(() => sub.res.end()));
  }

  /**
   * Records where an ended stream stopped. A live stream has sent everything in its scope up to the hub's
   * watermark; one still replaying, what it replayed; one that never had a position, everything after the org's
   * latest seq as it started.
   */
  private async leave(sub: Subscriber, watermark: number | undefined): Promise<void> {
    try {
      await sub.claiming;
      const seq =
        watermark !== undefined
          ? Math.max(sub.lastSeq, watermark)
          : sub.positioned
            ? sub.lastSeq
            : await (sub.floor ?? this.store.latestEventSeq(sub.scope.orgID));
      if (seq === null) return;
      await this.points.record(sub.key, seq);
      if (!sub.res.destroyed) sub.res.write(Buffer.from(`id: ${this.frames.position(sub.scope, seq)}\n\n`, 'utf8'));
    } catch {
      // The store is unavailable: the stream ends without a point; a client without its last id re-reads history.
    }
  }

  private track(work: Promise<void>): void {
    const settled = work.catch(() => {});
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
  }

  private tracked(work: Promise<void>): Promise<void> {
    this.track(work);
    return work;
  }

  /**
   * On shutdown: end every stream so clients resume elsewhere, and refuse new ones. Resolves once their resume
   * points are stored (so the store may close), or after `waitMs` at most.
   */
  async close(waitMs = 10_000): Promise<void> {
    this.shuttingDown = true;
    clearInterval(this.heartbeat);
    this.points.close();
    this.unsubscribe();
    this.unsubscribeEphemeral();
    for (const sub of [...this.all()]) this.end(sub);
    const deadline = Date.now() + waitMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline - Date.now())));
      await Promise.race([Promise.all([...this.inFlight]), timeout]);
      clearTimeout(timer);
    }
  }
}

function addTo<K>(map: Map<K, Set<Subscriber>>, key: K, sub: Subscriber): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(sub);
}

function removeFrom<K>(map: Map<K, Set<Subscriber>>, key: K, sub: Subscriber): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(sub);
  if (set.size === 0) map.delete(key);
}
