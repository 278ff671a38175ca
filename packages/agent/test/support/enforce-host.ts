/**
 * The enforcement modules running inside a test host (a network namespace): started with
 * `ip netns exec NS node enforce-host.js` and FIREBREAK_ENFORCE_HOST=1, it takes one JSON request per
 * line on stdin ({ id, op, args }) and answers one JSON line on stdout ({ id, ok, value | error, ms }).
 * nft and name resolution then act in that host, as an agent running there would.
 * Without the variable (node --test runs every file under test/) it does nothing.
 */
import { createSocket } from 'node:dgram';
import { createServer, connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { BlockTable, DomainBlocker, type BlockTableOptions } from '../../src/enforce/blocks.js';
import { isolate, isolationActive, release, verifyIsolation, type IsolationPolicy } from '../../src/enforce/isolation.js';
import { listTable } from '../../src/enforce/nft.js';
import { canConnect } from '../../src/enforce/reach.js';

/** A connection held open across steps, with what it received and whether it failed. */
interface HeldConnection {
  socket: Socket;
  received: string;
  error: string | null;
}

const connections: HeldConnection[] = [];
const udpReceived = new Map<number, number>();
let blockTable = new BlockTable();
let domainBlocker = new DomainBlocker(blockTable);

const operations: Record<string, (...args: never[]) => unknown> = {
  isolate: (policy: IsolationPolicy) => isolate(policy),
  release: () => release(),
  isolationActive: () => isolationActive(),
  verifyIsolation: (options: Parameters<typeof verifyIsolation>[0]) => verifyIsolation(options),
  /** The number of rules in a table (to see that applying twice does not add rules). */
  ruleCount: async (name: string) => (await listTable('inet', name))?.nftables.filter((item) => 'rule' in item).length ?? null,
  canConnect: (address: string, port: number, timeoutMs: number) => canConnect(address, port, timeoutMs),
  listen: (port: number) => listen(port),
  open: (address: string, port: number) => openConnection(address, port),
  listenUdp: (port: number) => listenUdp(port),
  /** Datagrams the UDP echo server on `port` has received so far. */
  udpReceived: (port: number) => udpReceived.get(port) ?? 0,
  udpEcho: (address: string, port: number, timeoutMs: number) => udpEcho(address, port, timeoutMs),
  echo: (index: number, text: string, timeoutMs: number) => echo(connections[index], text, timeoutMs),
  blockTable: (options: BlockTableOptions) => {
    blockTable = new BlockTable(options);
    domainBlocker = new DomainBlocker(blockTable);
  },
  blockSet: (addresses: string[]) => blockTable.setAddresses(addresses),
  blockAddresses: () => blockTable.addresses(),
  blockRemove: () => blockTable.remove(),
  domainsUpdate: (list: { addresses: string[]; domains: string[] }) => domainBlocker.update(list),
  domainsRefresh: () => domainBlocker.refresh(),
  domainsStop: () => domainBlocker.stop(),
  /** Starts timed refreshes every `refreshMs` (on a new blocker holding the same list). */
  domainsStart: async (refreshMs: number, list: { addresses: string[]; domains: string[] }) => {
    domainBlocker.stop();
    domainBlocker = new DomainBlocker(blockTable, { refreshMs });
    await domainBlocker.update(list);
    domainBlocker.start();
  },
};

function listen(port: number): Promise<number> {
  const server = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve(port));
  });
}

function listenUdp(port: number): Promise<number> {
  const socket = createSocket('udp4');
  socket.on('message', (message, from) => {
    udpReceived.set(port, (udpReceived.get(port) ?? 0) + 1);
    socket.send(message, from.port, from.address);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '0.0.0.0', () => resolve(port));
  });
}

/** Sends a datagram to a UDP echo server: true when the answer comes back in time. */
function udpEcho(address: string, port: number, timeoutMs: number): Promise<boolean> {
  const socket = createSocket('udp4');
  return new Promise<boolean>((resolve) => {
    const finish = (answered: boolean): void => {
      clearTimeout(timer);
      socket.close();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('error', () => finish(false));
    socket.once('message', () => finish(true));
    socket.send('ping', port, address);
  });
}

function openConnection(address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const held: HeldConnection = { socket: connect({ host: address, port }), received: '', error: null };
    held.socket.setEncoding('utf8').on('data', (chunk: string) => (held.received += chunk));
    held.socket.on('error', (error) => {
      held.error = error.message;
      reject(error);
    });
    held.socket.on('close', () => (held.error ??= 'closed'));
    held.socket.once('connect', () => resolve(connections.push(held) - 1));
  });
}

/** Sends `text` and waits for the echo server to send it back: true when it did in time. */
async function echo(held: HeldConnection, text: string, timeoutMs: number): Promise<{ echoed: boolean; error: string | null }> {
  held.received = '';
  if (!held.error) held.socket.write(text);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !held.error && !held.received.includes(text)) await new Promise((resolve) => setTimeout(resolve, 5));
  return { echoed: held.received.includes(text), error: held.error };
}

if (process.env.FIREBREAK_ENFORCE_HOST === '1') {
  for await (const line of createInterface({ input: process.stdin })) {
    const { id, op, args } = JSON.parse(line) as { id: number; op: string; args: never[] };
    const started = performance.now();
    const answer = (reply: object): void => {
      process.stdout.write(`${JSON.stringify({ id, ...reply, ms: performance.now() - started })}\n`);
    };
    const operation = operations[op];
    if (!operation) answer({ ok: false, error: `unknown operation ${op}` });
    else
      Promise.resolve()
        .then(() => operation(...args))
        .then(
          (value) => answer({ ok: true, value: value ?? null }),
          (error: Error) => answer({ ok: false, error: error.message }),
        );
  }
  process.exit(0);
}
