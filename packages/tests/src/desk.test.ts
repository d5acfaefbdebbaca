import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Api,
  cliRun,
  errorCode,
  firstAdmin,
  newAgent,
  PASSWORD,
  STORES,
  TestServer,
  withServer,
  type AgentSignIn,
} from './harness/index.js';

/**
 * What the console needs from the API to be a desk a team works at all day: the names of colleagues for every
 * agent, the message limit before a reply is refused, every search word highlighted, an icon for the tab, and
 * sign-in links that point at the server that will open them.
 */
for (const store of STORES) {
  describe(`the agents' desk [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let key: string;
    let admin: AgentSignIn;
    let ann: AgentSignIn;

    before(async () => {
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0', '--max-message-chars', '300'] }));
      api = new Api(server.url);
      key = server.org.apiKey;
      admin = await firstAdmin(api, server);
      ann = await newAgent(api, admin.token, 'ann@club.example');
    });
    after(() => close());

    test('every agent reads the names of the team, without their e-mail; the list itself stays for admins', async () => {
      const bea = await newAgent(api, admin.token, 'bea@club.example');
      const disabled = await api.patch(`/v1/agents/${bea.agent.id}`, { token: key, body: { disabled: true } });
      assert.equal(disabled.status, 200, disabled.text);
      const r = await api.get('/v1/teammates', { token: ann.token });
      assert.equal(r.status, 200, r.text);
      const byID = new Map((r.json.data as { id: string }[]).map((t) => [t.id, t]));
      assert.deepEqual(byID.get(admin.agent.id), {
        id: admin.agent.id,
        name: admin.agent.name,
        role: 'admin',
        disabledAt: null,
      });
      assert.equal((byID.get(ann.agent.id) as { name?: string } | undefined)?.name, 'ann');
      // A disabled colleague is still named: their old replies and notes stay theirs.
      const gone = byID.get(bea.agent.id) as { name: string; disabledAt: string | null } | undefined;
      assert.equal(gone?.name, 'bea');
      assert.notEqual(gone?.disabledAt, null);
      assert.ok(!r.text.includes('@club.example') && !r.text.includes('@localhost'), 'no e-mail in the answer');
      // The full list, with e-mails, stays an admin's (and the key's).
      assert.equal(errorCode(await api.get('/v1/agents', { token: ann.token })), 'FORBIDDEN');
      // Names are for the team's console: the org's backend has the full list already.
      assert.equal((await api.get('/v1/teammates', { token: key })).status, 403);
      assert.equal((await api.get('/v1/teammates')).status, 401);
    });

    test('the sign-in answer tells the console the longest message this server accepts', async () => {
      const r = await api.post('/v1/agent-auth/sign-in', { body: { email: 'ann@club.example', password: PASSWORD } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.limits, { maxMessageChars: 300 });
      const member = await api.memberToken(key, 'limits');
      const conv = await api.openConversation(member);
      const over = await api.post(`/v1/conversations/${conv}/messages`, {
        token: ann.token,
        body: { message: 'x'.repeat(301) },
      });
      assert.equal(over.status, 422, 'the limit it names is the one it enforces');
      const at = await api.post(`/v1/conversations/${conv}/messages`, {
        token: ann.token,
        body: { message: 'x'.repeat(300) },
      });
      assert.equal(at.status, 200, at.text);
    });

    test('a search snippet highlights every word searched, not only the first', async () => {
      const member = await api.memberToken(key, 'snippets', { displayName: 'Sam Snippet' });
      const conv = await api.openConversation(member);
      await api.send(
        member,
        conv,
        'Could you book the sommelier dinner for the four of us, somewhere quiet with a view of the water, ' +
          'nothing too formal, a place my parents would enjoy after their long flight from Lisbon, and if ' +
          'possible near the harbour, on Thursday evening?',
      );
      // The words are further apart than one snippet's window: each still shows, in its own fragment.
      for (const q of ['sommelier thursday', 'thurs somm', 'harbour sommelier lisbon']) {
        const r = await api.get('/v1/inbox', { token: ann.token, query: { q } });
        assert.equal(r.status, 200, r.text);
        const snippet = (r.json.data as { search: { snippet: string } }[])[0]?.search.snippet ?? '';
        for (const word of q.split(' '))
          assert.match(snippet, new RegExp(`\\[${word}[a-z]*\\]`, 'i'), `"${word}" of "${q}" in: ${snippet}`);
      }
    });

    test('/favicon.ico is an icon, cached for a long time', async () => {
      const res = await fetch(new URL('/favicon.ico', server.url));
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^image\//);
      const maxAge = Number(/max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1] ?? 0);
      assert.ok(maxAge >= 86_400, `cache-control: ${res.headers.get('cache-control')}`);
      assert.ok((await res.arrayBuffer()).byteLength > 0);
    });

    test('`agents create` links to --public-url, or the port given, and says so when it can only guess', async () => {
      const run = async (...extra: string[]) => {
        const email = `cli-${Math.random().toString(36).slice(2)}@club.example`;
        const r = await cliRun(['agents', 'create', '--email', email, '--name', 'Cli', ...extra], server.databaseURL);
        assert.equal(r.code, 0, r.stderr);
        return r;
      };
      const pub = await run('--public-url', 'https://desk.club.example');
      assert.match(pub.stdout, /https:\/\/desk\.club\.example\/console\/setup#token=/);
      assert.equal(pub.stderr, '');
      const port = await run('--port', '9123');
      assert.match(port.stdout, /http:\/\/127\.0\.0\.1:9123\/console\/setup#token=/);
      assert.equal(port.stderr, '');
      // Neither given: the CLI cannot know where the server listens, and says how to get the right link.
      const guess = await run();
      assert.match(guess.stderr, /--public-url/);
      assert.match(guess.stderr, /--port/);
      const json = await run('--json');
      assert.doesNotThrow(() => JSON.parse(json.stdout), 'stdout stays JSON');
    });
  });
}
