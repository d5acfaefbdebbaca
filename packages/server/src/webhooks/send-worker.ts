import { parentPort, workerData } from 'node:worker_threads';
import { Sender, type SendOptions } from './send.js';

/**
 * The delivery requests' thread (see worker-sender.ts): runs the Sender and answers each request with its result.
 * Messages: `{id, url, headers, body}` → `{id, result}`; `{close: true}` cuts every request in flight.
 */
const sender = new Sender(workerData as SendOptions);
const port = parentPort!;

port.on(
  'message',
  (m: { id: number; url: string; headers: Record<string, string>; body: string } | { close: true }) => {
    if ('close' in m) {
      sender.close();
      return;
    }
    void sender.post(m.url, m.headers, m.body).then((result) => port.postMessage({ id: m.id, result }));
  },
);
