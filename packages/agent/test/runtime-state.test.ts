import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateSigningKeys } from '@firebreak/core';
import { AgentState, COMMAND_SKEW_MS, type Identity } from '../src/runtime/state.js';

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'firebreak-agent-state-'));
  try {
    await run(join(base, 'state'));
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

function identity(): Identity {
  return {
    agentId: 'agt-1',
    secret: 's3cret',
    serverUrl: 'https://firebreak.example:8443',
    serverPublicKeyPem: generateSigningKeys().publicKeyPem,
    hostname: 'web-1',
    enrolledAt: 1_700_000_000_000,
  };
}

test('state files are private, written whole, and read back after reopening', async () => {
  await withDir(async (dir) => {
    const state = await AgentState.open(dir);
    assert.equal(state.identity, null);
    assert.equal(state.isolation, null);
    assert.deepEqual(state.blocks, { sha256: [], addresses: [], domains: [] });
    assert.equal((await stat(dir)).mode & 0o777, 0o700);

    const enrolled = identity();
    await state.setIdentity(enrolled);
    await state.setIsolation({ allow: [{ address: '10.0.0.0/8', port: 443, protocol: 'tcp' }], allowDns: true });
    await state.setBlocks({ sha256: ['a'.repeat(64)], addresses: ['203.0.113.7'], domains: ['evil.example'] });
    for (const name of ['identity.json', 'isolation.json', 'blocks.json']) {
      assert.equal((await stat(join(dir, name))).mode & 0o777, 0o600, name);
    }
    assert.deepEqual((await readdir(dir)).sort(), ['blocks.json', 'identity.json', 'isolation.json']);

    const reopened = await AgentState.open(dir);
    assert.deepEqual(reopened.identity, enrolled);
    assert.deepEqual(reopened.isolation, { allow: [{ address: '10.0.0.0/8', port: 443, protocol: 'tcp' }], allowDns: true });
    assert.deepEqual(reopened.blocks, { sha256: ['a'.repeat(64)], addresses: ['203.0.113.7'], domains: ['evil.example'] });

    await reopened.setIsolation(null);
    assert.deepEqual((await readdir(dir)).sort(), ['blocks.json', 'identity.json']);
    assert.equal((await AgentState.open(dir)).isolation, null);
  });
});

test('concurrent writes of one file end with the last value', async () => {
  await withDir(async (dir) => {
    const state = await AgentState.open(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => state.setBlocks({ sha256: [], addresses: [`192.0.2.${i}`], domains: [] })));
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'blocks.json'), 'utf8')).addresses, ['192.0.2.19']);
    assert.deepEqual((await AgentState.open(dir)).blocks.addresses, ['192.0.2.19']);
  });
});

test('a damaged state file is an error naming it; a temporary file left by a crash is removed', async () => {
  await withDir(async (dir) => {
    const state = await AgentState.open(dir);
    await state.setIdentity(identity());
    await writeFile(join(dir, '.blocks.json.abc123.tmp'), '{"sha256":');
    await writeFile(join(dir, 'isolation.json'), '{"allow": [');
    await assert.rejects(AgentState.open(dir), (error: Error) => error.message.includes(join(dir, 'isolation.json')));
    await rm(join(dir, 'isolation.json'));
    const reopened = await AgentState.open(dir);
    assert.equal(reopened.identity?.agentId, 'agt-1');
    assert.ok(!(await readdir(dir)).some((name) => name.endsWith('.tmp')));
    await writeFile(join(dir, 'identity.json'), JSON.stringify({ agentId: 'x' }));
    await assert.rejects(AgentState.open(dir), /identity.json: identity has no secret/);
  });
});

test('replay memory survives a restart and forgets a command once it can no longer verify', async () => {
  await withDir(async (dir) => {
    let now = 1_000_000;
    const clock = () => now;
    const state = await AgentState.open(dir, { now: clock });
    await state.rememberCommand('cmd-1', now + 60_000);
    await state.rememberCommand('cmd-2', now + 3_600_000);
    assert.equal(state.seenCommand('cmd-1'), true);
    assert.equal(state.seenCommand('cmd-3'), false);
    await assert.rejects(state.rememberCommand('cmd-1', now + 60_000), /replayed command/);
    assert.equal((await stat(join(dir, 'seen-commands.json'))).mode & 0o777, 0o600);

    const restarted = await AgentState.open(dir, { now: clock });
    assert.equal(restarted.seenCommand('cmd-1'), true);
    assert.equal(restarted.seenCommand('cmd-2'), true);

    // Still within the skew of its expiry: a replay could still pass the expiry check, so it is kept.
    now += 60_000 + COMMAND_SKEW_MS;
    await restarted.rememberCommand('cmd-4', now + 60_000);
    assert.equal(restarted.seenCommand('cmd-1'), true);
    // Long past: forgotten, on disk too.
    now += 24 * 3_600_000;
    await restarted.rememberCommand('cmd-5', now + 60_000);
    assert.equal(restarted.seenCommand('cmd-1'), false);
    assert.equal(restarted.seenCommand('cmd-2'), false);
    const onDisk = JSON.parse(await readFile(join(dir, 'seen-commands.json'), 'utf8'));
    assert.deepEqual(Object.keys(onDisk.commands), ['cmd-5']);
  });
});

test('a full replay memory forgets the soonest-expiring ids and refuses commands it can no longer vouch for', async () => {
  await withDir(async (dir) => {
    const now = 5_000_000;
    const state = await AgentState.open(dir, { now: () => now, maxSeenCommands: 10 });
    for (let i = 1; i <= 11; i++) await state.rememberCommand(`cmd-${i}`, now + i * 1000);
    // Over the bound by one: the two soonest-expiring ids (one plus a tenth of the bound) are forgotten.
    assert.equal(state.seenCommand('cmd-1'), false);
    assert.equal(state.seenCommand('cmd-2'), false);
    assert.equal(state.seenCommand('cmd-3'), true);
    assert.equal(state.seenCommand('cmd-11'), true);
    // A forgotten id (or any command expiring no later than one) is refused, not accepted again.
    await assert.rejects(state.rememberCommand('cmd-1', now + 1000), /replay memory full/);
    await assert.rejects(state.rememberCommand('cmd-new', now + 2000), /replay memory full/);
    await state.rememberCommand('cmd-later', now + 2001);
    const restarted = await AgentState.open(dir, { now: () => now, maxSeenCommands: 10 });
    await assert.rejects(restarted.rememberCommand('cmd-2', now + 2000), /replay memory full/);
    assert.equal(restarted.seenCommand('cmd-later'), true);
  });
});
