import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

/**
 * `/metrics` on a listener of its own, bound to loopback by default (`--metrics-host`, `--metrics-port`): process
 * metrics, route counts and stream gauges say a lot about an installation, and the API port faces the internet.
 * A scraper on the same machine (or a sidecar) reads it; nothing else can reach it unless the operator binds it
 * elsewhere on purpose. Only GET /metrics answers; everything else is 404 (docs/design/metrics.md).
 */
export async function listenMetrics(
  metrics: Metrics,
  host: string,
  port: number,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${shown}:${address.port}/metrics`, server };
}
