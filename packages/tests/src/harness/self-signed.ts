import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A self-signed certificate for 127.0.0.1 and its key (PEM), and the file the certificate is in. */
export interface SelfSigned {
  key: string;
  cert: string;
  certFile: string;
  remove(): Promise<void>;
}

/**
 * Makes a fresh self-signed certificate for `127.0.0.1` (and `localhost`) with the system's `openssl`: node:crypto
 * makes keys but not X.509 certificates. A test that trusts it passes `certFile` as NODE_EXTRA_CA_CERTS.
 */
export async function selfSigned(): Promise<SelfSigned> {
  const dir = await mkdtemp(join(tmpdir(), 'concierge-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  // P-256 keeps it fast; the subjectAltName is what TLS clients check, the CN alone is not.
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return {
    key: await readFile(keyFile, 'utf8'),
    cert: await readFile(certFile, 'utf8'),
    certFile,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
