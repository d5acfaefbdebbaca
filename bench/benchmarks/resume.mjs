// `resume`: a client reconnects with `Last-Event-ID` 300 messages behind; how long until all 300 are delivered
// (from sending the request to receiving the 300th event). There is no reference: the target is absolute.
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { Api } from '../lib/api.mjs';
import { openStream } from '../lib/sse.mjs';
import { startConcierge, tempDir, using } from '../lib/procs.mjs';
import { fmt, median } from '../lib/stats.mjs';

export const description =
  'reconnect to a conversation stream with `Last-Event-ID` 300 messages behind; time until all 300 arrive';

const BEHIND = 300;

export async function run({ rounds, smoke, profile, log }) {
  const resumesPerRound = smoke ? 1 : 5;
  return using(async (track) => {
    const tmp = track(tempDir());
    const ours = track(
      await startConcierge({
        database: `sqlite:${join(tmp.dir, 'concierge.db')}`,
        args: ['--rate-limit', '0', '--token-ttl', '7200'],
        profile,
      }),
    );
    const api = new Api(ours.url);
    const token = await api.memberToken(ours.org.apiKey, 'bench-resume');
    const conversationID = await api.openConversation(token);
    const streamPath = `/v1/conversations/${conversationID}/stream`;
    const auth = { authorization: `Bearer ${token}` };
    const reply = (text) =>
      api.call('POST', `/v1/conversations/${conversationID}/messages`, {
        token: ours.org.apiKey,
        body: { message: text },
      });

    /** One resume: mark a position, fall 300 behind while disconnected, reconnect and time the catch-up. */
    async function once(label) {
      // The last id a client saw: read live from the stream, as a client would have it.
      let lastID;
      let gotOne;
      const one = new Promise((resolve) => (gotOne = resolve));
      const live = await openStream(ours.url, streamPath, auth, (e) => {
        lastID = e.id;
        gotOne();
      });
      await reply(`${label}: before the drop`);
      await one;
      live.close();
      // 300 concierge replies while the client is away, 20 at a time (they group-commit as real traffic would).
      const sent = [];
      for (let i = 0; i < BEHIND; i += 20) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(20, BEHIND - i) }, (_, j) => reply(`${label}: missed ${i + j}`)),
        );
        sent.push(...batch.map((b) => b.message));
      }
      const got = [];
      let stream;
      const t0 = performance.now();
      let firstMs = NaN;
      const done = new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${got.length} of ${BEHIND} replayed within 10 s`)),
          10_000,
        );
        openStream(ours.url, streamPath, { ...auth, 'last-event-id': lastID }, (e) => {
          if (got.length === 0) firstMs = performance.now() - t0;
          got.push(JSON.parse(e.data));
          if (got.length === BEHIND) {
            clearTimeout(timer);
            resolve(performance.now() - t0);
          }
        }).then((s) => (stream = s), reject);
      });
      const allMs = await done;
      stream?.close();
      // Exactly the missed messages, each once (ids are unique; order within one commit batch is by seq).
      const want = new Set(sent.map((m) => m.id));
      if (got.length !== BEHIND || new Set(got.map((m) => m.id)).size !== BEHIND || !got.every((m) => want.has(m.id)))
        throw new Error('the replay did not deliver exactly the 300 missed messages');
      return { allMs, firstMs };
    }

    await once('warm-up');
    const raw = [];
    for (let r = 0; r < rounds; r++) {
      const samples = [];
      for (let k = 0; k < resumesPerRound; k++) samples.push(await once(`round ${r + 1}.${k + 1}`));
      const round = {
        allMs: median(samples.map((s) => s.allMs)),
        firstMs: median(samples.map((s) => s.firstMs)),
        maxMs: Math.max(...samples.map((s) => s.allMs)),
      };
      raw.push(round);
      log(
        `  round ${r + 1}/${rounds}: all ${BEHIND} in ${fmt(round.allMs)} ms (median of ${resumesPerRound}), first after ${fmt(round.firstMs)} ms, worst ${fmt(round.maxMs)} ms`,
      );
    }
    const all = median(raw.map((x) => x.allMs));
    const worst = Math.max(...raw.map((x) => x.maxMs));
    return {
      config: { behind: BEHIND, resumesPerRound, rounds },
      rows: [
        { metric: `time to first replayed event (ms)`, ours: median(raw.map((x) => x.firstMs)) },
        {
          metric: `time to all ${BEHIND} replayed (ms)`,
          ours: all,
          target: '≤ 50 ms',
          met: all <= 50,
          missedBy: all > 50 ? `${fmt(all - 50)} ms over` : undefined,
        },
        { metric: `worst resume of all rounds (ms)`, ours: worst },
      ],
      notes: [
        `Each round: ${resumesPerRound} resumes; each reads a live id, disconnects, misses ${BEHIND} concierge replies, reconnects with \`Last-Event-ID\` and times from the request to the ${BEHIND}th event. Every replay is checked to hold exactly the missed messages. No reference server: the target is absolute.`,
      ],
      raw,
    };
  });
}
