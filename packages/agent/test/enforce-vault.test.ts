/** The quarantine vault on real files: content, mode and owner survive the round trip. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Vault } from '../src/enforce/vault.js';

const skip = process.getuid?.() === 0 ? false : 'needs root (the vault keeps and restores file owners)';
const work = mkdtempSync(join(tmpdir(), 'firebreak-vault-'));
after(() => rmSync(work, { recursive: true, force: true }));

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

function suspiciousFile(dir: string, name: string): { path: string; content: string } {
  const path = join(dir, name);
  const content = `#!/bin/sh\necho update ${name} ${Math.random()}\n`;
  writeFileSync(path, content);
  chownSync(path, 1234, 5678);
  chmodSync(path, 0o4751);
  return { path, content };
}

test('quarantine and restore keep content, mode and owner', { skip }, async () => {
  const vault = new Vault(join(work, 'vault'));
  const { path, content } = suspiciousFile(work, 'vendor-update');
  const { entry, verification } = await vault.quarantine(path, sha256(content).toUpperCase());
  assert.equal(entry.sha256, sha256(content));
  assert.deepEqual(
    [entry.originalPath, entry.mode, entry.uid, entry.gid, entry.size],
    [path, 0o4751, 1234, 5678, Buffer.byteLength(content)],
  );
  assert.ok(Math.abs(entry.quarantinedAt - Date.now()) < 10_000);
  assert.deepEqual(
    verification.map((check) => [check.name, check.ok]),
    [
      ['vault copy sha256', true],
      ['original path gone', true],
    ],
  );
  assert.equal(existsSync(path), false);
  assert.equal(statSync(join(work, 'vault')).mode & 0o777, 0o700);
  const held = join(work, 'vault', `${entry.id}.bin`);
  assert.equal(statSync(held).mode & 0o7777, 0o000);
  assert.equal(readFileSync(held, 'utf8'), content);
  assert.deepEqual(JSON.parse(readFileSync(join(work, 'vault', `${entry.id}.json`), 'utf8')), entry);
  assert.deepEqual(await vault.list(), { entries: [entry], problems: [] });

  const restored = await vault.restore(entry.id);
  assert.deepEqual(restored.entry, entry);
  assert.ok(
    restored.verification.every((check) => check.ok),
    JSON.stringify(restored.verification),
  );
  assert.equal(readFileSync(path, 'utf8'), content);
  const info = statSync(path);
  assert.deepEqual([info.mode & 0o7777, info.uid, info.gid], [0o4751, 1234, 5678]);
  assert.deepEqual(readdirSync(join(work, 'vault')), [], 'the vault no longer holds it');
  assert.deepEqual(await vault.list(), { entries: [], problems: [] });
});

test('a file whose hash is not the expected one stays where it is', { skip }, async () => {
  const vault = new Vault(join(work, 'vault-mismatch'));
  const { path, content } = suspiciousFile(work, 'other-update');
  const expected = sha256('something else');
  await assert.rejects(
    vault.quarantine(path, expected),
    new RegExp(`has sha256 ${sha256(content)}, not the expected ${expected}; left in place`),
  );
  await assert.rejects(vault.quarantine(path, 'abc'), /expected sha256 "abc" is not 64 hex digits/);
  assert.equal(readFileSync(path, 'utf8'), content);
  assert.deepEqual((await vault.list()).entries, []);
});

test('restore refuses to overwrite a file that took the original path', { skip }, async () => {
  const vault = new Vault(join(work, 'vault-overwrite'));
  const { path } = suspiciousFile(work, 'dropper');
  const { entry } = await vault.quarantine(path);
  writeFileSync(path, 'dropped again');
  await assert.rejects(vault.restore(entry.id), new RegExp(`${path} exists; not overwritten \\(vault entry ${entry.id} kept\\)`));
  assert.equal(readFileSync(path, 'utf8'), 'dropped again');
  assert.deepEqual((await vault.list()).entries, [entry]);
  await assert.rejects(vault.restore('../../etc/passwd'), /is not a vault id/);
  await assert.rejects(vault.restore('00000000-0000-0000-0000-000000000000'), /no vault entry 00000000-0000-0000-0000-000000000000/);
});

test('symlinks, directories and relative paths are refused', { skip }, async () => {
  const vault = new Vault(join(work, 'vault-refusals'));
  const target = suspiciousFile(work, 'link-target');
  const link = join(work, 'a-link');
  symlinkSync(target.path, link);
  await assert.rejects(vault.quarantine(link), /a-link is not a regular file/);
  await assert.rejects(vault.quarantine(work), /is not a regular file/);
  await assert.rejects(vault.quarantine('relative/file'), /"relative\/file" is not an absolute path/);
  await assert.rejects(vault.quarantine(join(work, 'missing')), /cannot read .*missing: ENOENT/);
  assert.equal(existsSync(target.path), true);
});

const shm = '/dev/shm';
const crossDeviceSkip =
  skip ||
  (existsSync(shm) && statSync(shm).dev !== statSync(tmpdir()).dev ? false : `needs ${shm} on another file system than ${tmpdir()}`);

test('a file on another file system is copied, synced and unlinked, and comes back there', { skip: crossDeviceSkip }, async () => {
  const vault = new Vault(join(work, 'vault-cross'));
  const dir = mkdtempSync(join(shm, 'firebreak-vault-'));
  try {
    const { path, content } = suspiciousFile(dir, 'tmpfs-payload');
    const { entry, verification } = await vault.quarantine(path);
    assert.ok(verification.every((check) => check.ok));
    assert.equal(existsSync(path), false);
    assert.equal(readFileSync(join(work, 'vault-cross', `${entry.id}.bin`), 'utf8'), content);
    const restored = await vault.restore(entry.id);
    assert.ok(restored.verification.every((check) => check.ok));
    const info = statSync(path);
    assert.deepEqual([readFileSync(path, 'utf8'), info.mode & 0o7777, info.uid, info.gid], [content, 0o4751, 1234, 5678]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
