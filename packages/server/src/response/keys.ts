/**
 * The server's Ed25519 command-signing key, kept in the data directory (owner-only, like an SSH
 * host key) and made at the first start. Agents pin its public half at enrollment, so a new key
 * means agents refuse commands until they enroll again: the key is never replaced silently.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSigningKeys, type SigningKeys } from '@firebreak/core';

const PRIVATE_FILE = 'agent-signing-key.pem';
const PUBLIC_FILE = 'agent-signing-key.pub.pem';

export async function loadSigningKeys(dataDir: string): Promise<SigningKeys> {
  const privatePath = join(dataDir, PRIVATE_FILE);
  const publicPath = join(dataDir, PUBLIC_FILE);
  try {
    return { privateKeyPem: await readFile(privatePath, 'utf8'), publicKeyPem: await readFile(publicPath, 'utf8') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const keys = generateSigningKeys();
  // `wx`: two servers starting on one data dir at once cannot both write a key.
  await writeFile(privatePath, keys.privateKeyPem, { mode: 0o600, flag: 'wx' });
  await writeFile(publicPath, keys.publicKeyPem, { mode: 0o644, flag: 'wx' });
  return keys;
}
