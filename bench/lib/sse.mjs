// A minimal SSE reader for the benchmark process itself (one or two streams, not a swarm): parses events into
// `{id, event, data}` per the WHATWG rules the server follows (bench/loadgen/sse-clients.mjs is the swarm).
import { request } from 'node:http';

/**
 * Opens one stream and hands every complete event block (the text between blank lines) to `onBlock`. Resolves
 * once the response is a 200 stream; the load generator's swarm (bench/loadgen/sse-clients.mjs) uses it directly,
 * with a `localAddress` (127.0.0.2, 127.0.0.3, …) per socket so that tens of thousands of streams fit.
 */
export function openRaw(url, path, headers, onBlock, localAddress = undefined) {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), {
      headers: { accept: 'text/event-stream', ...headers },
      agent: false,
      // A source address of its own for this socket: one address has only ~28,000 ephemeral ports.
      ...(localAddress !== undefined && { localAddress }),
    });
    req.once('error', reject);
    req.once('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`stream answered ${res.statusCode}`));
        return;
      }
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffered += chunk;
        let end;
        while ((end = buffered.indexOf('\n\n')) !== -1) {
          onBlock(buffered.slice(0, end));
          buffered = buffered.slice(end + 2);
        }
      });
      res.on('error', () => {});
      resolve({ req, res, close: () => req.destroy() });
    });
    req.end();
  });
}

/** Parses each block into `{id, event, data}`; blocks without data (comments, id-only frames) are no events. */
export function openStream(url, path, headers, onEvent) {
  return openRaw(url, path, headers, (block) => {
    const event = { id: undefined, event: undefined, data: undefined };
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
      else if (field === 'id' || field === 'event') event[field] = value;
    }
    if (event.data !== undefined) onEvent(event);
  });
}
