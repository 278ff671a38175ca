/**
 * Containment benchmark (issue 6).
 *
 * 1. Time to contain: the lab of the containment test (a server, three hosts running the real
 *    agent in network namespaces, a C2), RUNS times from scratch: the trojanized helper starts on
 *    host1 and the clock runs until the agent reports the isolation enforced. Prints p50/p95/max.
 * 2. The /proc sampler's cost: CPU per sample on this machine (every process in /proc is looked at).
 * 3. Fleet-wide block: a server with AGENTS simulated agents (real enrollment, real WebSockets,
 *    every command's Ed25519 signature checked as the real agent checks it, a result sent back);
 *    a responder blocks an IP; prints the time until the last agent holds the verified command,
 *    and until the server has recorded every agent's result.
 *
 *   node bench/contain.mjs [--runs 20] [--agents 500] [--sample-ms 500]   (needs root: namespaces, nft)
 *   (after `npx tsc -b`; or `npm run bench:contain`)
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { verifyCommand } from '@firebreak/core';
import { startServer } from '@firebreak/server';
// The agent's sampler as it runs (an internal module: the bench measures it as is).
import { ExecutableHasher, ProcSampler } from '../packages/agent/dist/src/host/proc.js';
import WebSocket from 'ws';
import { startLab } from '../packages/cli/dist/test/support/containment-lab.js';

const { values } = parseArgs({ options: { runs: { type: 'string' }, agents: { type: 'string' }, 'sample-ms': { type: 'string' } } });
const RUNS = Number(values.runs ?? 20);
const AGENTS = Number(values.agents ?? 500);
const SAMPLE_MS = Number(values['sample-ms'] ?? 500); // the agent's default

await timeToContain();
await samplerCost();
await fleetBlock();

async function timeToContain() {
  const times = [];
  for (let run = 1; run <= RUNS; run++) {
    const lab = await startLab({ sampleMs: SAMPLE_MS });
    try {
      const trojan = await lab.startTrojan();
      const isolation = await lab.until('host1 isolated', async () => {
        const { actions } = await lab.api('GET', '/api/v1/actions?limit=50');
        return actions.find((a) => a.type === 'isolate' && a.status === 'succeeded');
      });
      times.push(Date.parse(isolation.enforced_at) - trojan.startedAt);
      process.stderr.write(`run ${run}/${RUNS}: ${times.at(-1)} ms\n`);
    } finally {
      await lab.close();
    }
  }
  times.sort((a, b) => a - b);
  console.log(
    `time-to-contain over ${RUNS} runs (sampler every ${SAMPLE_MS} ms): p50 ${pct(times, 50)} ms, p95 ${pct(times, 95)} ms, max ${times.at(-1)} ms`,
  );
}

async function samplerCost() {
  const sampler = new ProcSampler({ hostname: 'bench', intervalMs: SAMPLE_MS, hasher: new ExecutableHasher(), onEvents: () => {} });
  await sampler.sampleOnce(); // the first sample hashes every program; later ones are what runs every interval
  const samples = 40;
  const before = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < samples; i++) await sampler.sampleOnce();
  const cpu = process.cpuUsage(before);
  const processes = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;
  const perSample = (cpu.user + cpu.system) / 1000 / samples;
  console.log(
    `/proc sampler: ${perSample.toFixed(1)} ms CPU per sample (${((performance.now() - start) / samples).toFixed(1)} ms wall) with ${processes} processes; ` +
      `${((perSample / SAMPLE_MS) * 100).toFixed(1)}% of a core at one sample every ${SAMPLE_MS} ms`,
  );
}

async function fleetBlock() {
  const dir = await mkdtemp(join(tmpdir(), 'firebreak-bench-contain-'));
  const admin = 'fbk_bench-contain-admin';
  const server = await startServer({ dataDir: dir, listen: { host: '127.0.0.1', port: 0 }, adminToken: admin, threads: 1, log: () => {} });
  const api = async (method, path, body, token = admin) => {
    const response = await globalThis.fetch(`${server.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  try {
    const enrollStart = performance.now();
    const agents = [];
    for (let i = 0; i < AGENTS; i++) {
      const { token } = await api('POST', '/api/v1/agents/enroll-tokens', {});
      const enrolled = await api('POST', '/api/v1/agents/enroll', { token, hostname: `sim-${i}` }, null);
      agents.push({ id: enrolled.agent_id, secret: enrolled.secret, key: enrolled.server_public_key });
    }
    const enrollMs = performance.now() - enrollStart;
    const received = new Map();
    const sockets = await Promise.all(agents.map((agent) => simulatedAgent(server.url, agent, received)));
    await waitFor(async () => (await api('GET', '/api/v1/agents')).agents.filter((a) => a.status === 'online').length === AGENTS);
    received.clear(); // the blocklist sync at connect is not what is measured
    const start = performance.now();
    const { actions } = await api('POST', '/api/v1/indicators', { indicators: [{ type: 'ip', value: '203.0.113.99' }] });
    await waitFor(() => received.size === AGENTS);
    const reached = Math.max(...received.values()) - start;
    await waitFor(async () => (await api('GET', `/api/v1/actions/${actions[0].id}`)).status === 'succeeded');
    const recorded = performance.now() - start;
    console.log(
      `fleet-wide block to ${AGENTS} agents: every agent holds the verified command after ${reached.toFixed(0)} ms; ` +
        `every result recorded after ${recorded.toFixed(0)} ms (enrolling them took ${(enrollMs / 1000).toFixed(1)} s)`,
    );
    for (const socket of sockets) socket.close();
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** An agent as far as the protocol goes: hello, heartbeats, and each block command verified and answered. */
function simulatedAgent(url, agent, received) {
  const seen = new Set();
  const socket = new WebSocket(`${url.replace('http', 'ws')}/api/v1/agents/connect`, {
    headers: { authorization: `Bearer ${agent.id}.${agent.secret}` },
  });
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString());
    if (message.type !== 'command') return;
    const check = verifyCommand(message.command, {
      publicKeyPem: agent.key,
      agentId: agent.id,
      now: Date.now(),
      seen: (id) => seen.has(id),
    });
    if (!check.ok) throw new Error(`command refused: ${check.reason}`);
    seen.add(check.command.id);
    if (check.command.type === 'block_ip') received.set(agent.id, performance.now());
    const result = {
      commandId: check.command.id,
      actionId: check.command.actionId,
      status: 'succeeded',
      enforcedAt: Date.now(),
      verification: [],
    };
    socket.send(JSON.stringify({ type: 'result', result }));
  });
  return new Promise((resolve, reject) => {
    socket.once('open', () => {
      socket.send(
        JSON.stringify({
          type: 'hello',
          version: 'bench',
          hostname: `sim`,
          os: 'linux',
          isolated: false,
          blocks: { sha256: 0, addresses: 0, domains: 0 },
        }),
      );
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

async function waitFor(condition, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
