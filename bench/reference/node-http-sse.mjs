// Reference for `fanout`: a bare node:http Server-Sent Events broadcaster. `GET /stream` holds a response open
// (the same headers as ours); `POST /publish` builds one event's bytes once (a Message-shaped `data:` stamped with
// `createdAt` now, and an `id:`) and writes them to every open stream, then answers. No auth, no store, no per-
// stream state beyond the response: the floor for holding streams and for fan-out latency.
//
//   node bench/reference/node-http-sse.mjs
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const streams = new Set();
let seq = 0;

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stream') {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.socket?.setNoDelay(true);
    res.write('retry: 2000\n\n');
    streams.add(res);
    res.on('close', () => streams.delete(res));
    return;
  }
  if (req.method === 'POST' && req.url === '/publish') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const { message } = JSON.parse(body);
      const id = `msg_${randomBytes(12).toString('base64url')}`;
      const data = JSON.stringify({
        id,
        type: 'concierge',
        authorID: 'concierge',
        body: message,
        createdAt: new Date().toISOString(),
      });
      const bytes = Buffer.from(`id: ${(++seq).toString(36)}\ndata: ${data}\n\n`);
      for (const s of streams) s.write(bytes);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: true, delivered: streams.size }));
    });
    return;
  }
  res.writeHead(404).end();
});

// Heartbeats as ours sends them (every 15 s), so an idle stream costs the same timers on both sides.
setInterval(() => {
  for (const s of streams) s.write(': heartbeat\n\n');
}, 15_000).unref();

server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
for (const signal of ['SIGTERM', 'SIGINT'])
  process.once(signal, () => {
    for (const s of streams) s.end();
    server.close(() => process.exit(0));
  });
