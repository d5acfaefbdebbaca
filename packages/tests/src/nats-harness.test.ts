import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { natsSkip, startNats } from './harness/index.js';

/**
 * The broker suites stop and restart `nats-server` under their clients, and count on it coming back at the same
 * URL. This proves the harness does that with a bare TCP client: a NATS server greets every connection with one
 * `INFO {json}` line before anything else, so no NATS client library is needed to tell it is up.
 */

interface Greeting {
  server_id: string;
  port: number;
  socket: Socket;
}

/** Connects to `url` and resolves with the server's INFO line, the socket left open. */
async function greet(url: string): Promise<Greeting> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.setEncoding('utf8');
  let text = '';
  return new Promise<Greeting>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('data', (d: string) => {
      text += d;
      const end = text.indexOf('\r\n');
      if (end === -1) return;
      const line = text.slice(0, end);
      if (!line.startsWith('INFO ')) reject(new Error(`not a NATS greeting: ${line}`));
      else resolve({ ...(JSON.parse(line.slice(5)) as { server_id: string; port: number }), socket });
    });
  });
}

/** Resolves with the error a connection to `url` fails with. */
async function refused(url: string): Promise<string | undefined> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
  return error.code;
}

describe('the nats-server test harness', { skip: natsSkip() }, () => {
  test('a server on a free loopback port greets clients, and comes back on the same port after stop, restart and kill', async () => {
    const nats = await startNats();
    try {
      assert.match(nats.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
      const first = await greet(nats.url);
      assert.equal(first.port, nats.port);

      // A clean stop closes the connections it had, and nothing listens until the restart.
      const closed = once(first.socket, 'close');
      await nats.stop();
      await closed;
      assert.equal(nats.running, false);
      assert.equal(await refused(nats.url), 'ECONNREFUSED');

      const url = nats.url;
      await nats.restart();
      assert.equal(nats.url, url);
      const second = await greet(url);
      assert.equal(second.port, nats.port);
      assert.notEqual(second.server_id, first.server_id, 'a restart is a new server process');

      // Killed outright, then restarted while nothing runs: the same port again.
      await nats.kill();
      assert.equal(await refused(url), 'ECONNREFUSED');
      await nats.restart();
      const third = await greet(url);
      assert.notEqual(third.server_id, second.server_id);
      for (const g of [second, third]) g.socket.destroy();

      // A restart of a running server stops it first.
      await nats.restart();
      (await greet(url)).socket.destroy();
    } finally {
      await nats.stop();
    }
  });

  test('two servers started at once get ports of their own', async () => {
    const [a, b] = await Promise.all([startNats(), startNats()]);
    try {
      assert.notEqual(a.port, b.port);
      for (const s of [a, b]) (await greet(s.url)).socket.destroy();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
