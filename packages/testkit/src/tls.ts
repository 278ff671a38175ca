/** A self-signed certificate for TLS tests on loopback, made with the machine's openssl. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const OPENSSL = '/usr/bin/openssl';
/** `false` when openssl is there, else the reason to skip. */
export const opensslSkip: string | false = existsSync(OPENSSL) ? false : `needs ${OPENSSL} to make a self-signed certificate`;

/**
 * A certificate for 127.0.0.1 and localhost, self-signed (so it is its own CA), made in `dir` as
 * key.pem and cert.pem; resolves with their paths and PEM text.
 */
export async function selfSignedCertificate(dir: string): Promise<{ key: string; cert: string; keyFile: string; certFile: string }> {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  await promisify(execFile)(OPENSSL, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-days',
    '1',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8'), keyFile, certFile };
}
