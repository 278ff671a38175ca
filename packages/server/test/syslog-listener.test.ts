/**
 * The syslog listener over real sockets on 127.0.0.1: util-linux `logger` as the sender where it can say what is
 * tested, node sockets where the bytes and their timing must be exact (split segments, garbage, backpressure, TLS).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { connect as connectTls } from 'node:tls';
import { promisify } from 'node:util';
import { SyslogListener, type SyslogListenerOptions, type SyslogMessage } from '../src/syslog/listener.js';
import { opensslSkip, selfSignedCertificate } from '@firebreak/testkit';

const LOGGER = '/usr/bin/logger';
const HOST = '127.0.0.1';
const run = promisify(execFile);
const loggerSkip = existsSync(LOGGER) ? false : `needs ${LOGGER} (util-linux) as the syslog sender`;

const work = mkdtempSync(join(tmpdir(), 'firebreak-syslog-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The receiving end: records every batch and answers deliver() with `accept`. */
class Inbox {
  readonly messages: SyslogMessage[] = [];
  batches = 0;
  accept = true;
  readonly deliver = (batch: SyslogMessage[]): boolean => {
    this.batches++;
    for (const message of batch) this.messages.push(message);
    return this.accept;
  };
  texts(): string[] {
    return this.messages.map((message) => message.text);
  }
}

/** Waits until `condition` holds, failing with `what` after a few seconds. */
async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(10);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A started listener on free loopback ports, closed when the test ends. */
async function startListener(t: TestContext, inbox: Inbox, options: Omit<SyslogListenerOptions, 'deliver'>) {
  const listener = new SyslogListener({ ...options, deliver: inbox.deliver });
  const addresses = await listener.start();
  t.after(() => listener.close());
  return { listener, addresses };
}

function logger(...args: string[]): Promise<unknown> {
  return run(LOGGER, ['-n', HOST, ...args]);
}

function openTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: HOST, port, noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes one piece and waits until it has left node for the kernel. */
function write(socket: Socket, piece: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(piece, (error) => (error ? reject(error) : resolve())));
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));
}

function sendDatagram(client: UdpSocket, text: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => client.send(text, port, HOST, (error) => (error ? reject(error) : resolve())));
}

/** An RFC 6587 octet-counted frame. */
function octetFrame(message: string): string {
  return `${Buffer.byteLength(message)} ${message}`;
}

test('UDP: each datagram sent by logger is one message, RFC 5424 and RFC 3164', { skip: loggerSkip }, async (t) => {
  const inbox = new Inbox();
  const { listener, addresses } = await startListener(t, inbox, { udp: { host: HOST, port: 0 } });
  const port = String(addresses.udp!.port);
  await logger('--udp', '-P', port, '--rfc5424', '-t', 'fbtest', 'hello over udp 5424');
  await logger('--udp', '-P', port, '--rfc3164', '-t', 'fbtest', 'hello over udp 3164');
  await until(() => inbox.messages.length === 2, 'two UDP messages');
  const [modern, bsd] = inbox.messages;
  assert.match(modern.text, /^<13>1 \d{4}-\d\d-\d\dT\S+ \S+ fbtest - - \[timeQuality [^\]]*\] hello over udp 5424$/);
  assert.match(bsd.text, /^<13>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ fbtest: hello over udp 3164$/);
  for (const message of inbox.messages) {
    assert.equal(message.transport, 'udp');
    assert.match(message.peer, /^127\.0\.0\.1:\d+$/);
    assert.ok(Math.abs(message.receivedAt - Date.now()) < 5000);
  }
  assert.deepEqual(listener.stats(), { ...zeroStats(), received: 2 });
});

test('UDP: a trailing CRLF is stripped, an oversized datagram is truncated and counted, an empty one is a framing error', async (t) => {
  const inbox = new Inbox();
  const { listener, addresses } = await startListener(t, inbox, { udp: { host: HOST, port: 0 }, maxMessageBytes: 20 });
  const client = createSocket('udp4');
  t.after(() => client.close());
  const send = (text: string) => sendDatagram(client, text, addresses.udp!.port);
  await send('<13>with crlf\r\n');
  await send(`<13>${'x'.repeat(15)}€ and more`); // the euro sign's three bytes straddle byte 20
  await send('');
  await send('<13>last');
  await until(() => inbox.messages.length === 3 && listener.stats().framingErrors === 1, 'three messages and one empty datagram');
  assert.deepEqual(inbox.texts(), ['<13>with crlf', `<13>${'x'.repeat(15)}`, '<13>last']);
  assert.equal(listener.stats().oversized, 1);
});

test('TCP newline framing: logger sends RFC 3164 and RFC 5424 lines', { skip: loggerSkip }, async (t) => {
  const inbox = new Inbox();
  const { addresses } = await startListener(t, inbox, { tcp: { host: HOST, port: 0 } });
  const port = String(addresses.tcp!.port);
  await logger('--tcp', '-P', port, '--rfc3164', '-t', 'fbtest', 'line framed 3164');
  await logger('--tcp', '-P', port, '--rfc5424', '-t', 'fbtest', 'line framed 5424');
  await until(() => inbox.messages.length === 2, 'two TCP messages');
  assert.match(inbox.messages[0].text, /^<13>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ fbtest: line framed 3164$/);
  assert.match(inbox.messages[1].text, /^<13>1 \S+ \S+ fbtest - - \[timeQuality [^\]]*\] line framed 5424$/);
  assert.ok(inbox.messages.every((message) => message.transport === 'tcp'));
});

test('TCP octet counting: logger --octet-count, one message and then 500 over one connection', { skip: loggerSkip }, async (t) => {
  const inbox = new Inbox();
  const { listener, addresses } = await startListener(t, inbox, { tcp: { host: HOST, port: 0 } });
  const port = String(addresses.tcp!.port);
  await logger('--tcp', '--octet-count', '-P', port, '--rfc5424', '-t', 'fbtest', 'counted: no newline follows');
  await until(() => inbox.messages.length === 1, 'the octet-counted message');
  assert.match(inbox.messages[0].text, /^<13>1 \S+ \S+ fbtest - - \[timeQuality [^\]]*\] counted: no newline follows$/);

  const lines = Array.from({ length: 500 }, (_, index) => `message ${index} with 12 digits 345 <not a count>`);
  const file = join(work, 'many.txt');
  writeFileSync(file, lines.join('\n') + '\n');
  await logger('--tcp', '--octet-count', '-P', port, '--rfc5424', '-t', 'fbtest', '-f', file);
  await until(() => inbox.messages.length === 501, '500 more messages');
  const bodies = inbox.messages.slice(1).map((message) => message.text.replace(/^<13>1 .*?\] /, ''));
  assert.deepEqual(bodies, lines);
  assert.equal(new Set(inbox.messages.slice(1).map((message) => message.peer)).size, 1, 'one connection');
  assert.equal(listener.stats().received, 501);
});

test('TCP: every framing in one write is split right and delivered in a few batches, not one per message', async (t) => {
  const inbox = new Inbox();
  const { listener, addresses } = await startListener(t, inbox, { tcp: { host: HOST, port: 0 } });
  const expected: string[] = [];
  let stream = '';
  for (let index = 0; index < 1000; index++) {
    const text = `<14>message ${index}`;
    expected.push(text);
    stream += [`${text}\n`, `${text}\r\n`, `${text}\0`, octetFrame(text)][index % 4];
  }
  const client = await openTcp(addresses.tcp!.port);
  await write(client, stream);
  client.end();
  await until(() => inbox.messages.length === 1000, '1000 messages');
  assert.deepEqual(inbox.texts(), expected);
  assert.ok(inbox.batches <= 20, `${inbox.batches} deliveries for 1000 messages in one write`);
  await until(() => listener.stats().connections === 0, 'the connection to close');
});

test('TCP: a message split across segments, even inside its count, its CR LF and a UTF-8 character', async (t) => {
  const inbox = new Inbox();
  const { addresses } = await startListener(t, inbox, { tcp: { host: HOST, port: 0 } });
  const counted = '<13>1 - host app - - - grüße';
  const frame = Buffer.from(octetFrame(counted));
  const umlaut = frame.indexOf(Buffer.from('ü'));
  const pieces = [
    frame.subarray(0, 1), // the first digit of the count
    frame.subarray(1, 3), // the rest of the count and its space
    frame.subarray(3, umlaut + 1), // '<' onwards, up to the first byte of 'ü'
    frame.subarray(umlaut + 1),
    '<13>line in ',
    'three pieces\r',
    '\n',
  ];
  const client = await openTcp(addresses.tcp!.port);
  for (const piece of pieces) {
    await write(client, piece);
    await delay(30);
  }
  await until(() => inbox.messages.length === 2, 'both messages');
  assert.deepEqual(inbox.texts(), [counted, '<13>line in three pieces']);
  assert.equal(inbox.batches, 2, 'each message delivered once it was complete');
  client.end();
});

test('TCP: oversized lines and frames are truncated, counted, and the stream stays in step', async (t) => {
  const inbox = new Inbox();
  const { listener, addresses } = await startListener(t, inbox, { tcp: { host: HOST, port: 0 }, maxMessageBytes: 100 });
  const exact = `<13>${'e'.repeat(96)}`; // exactly the limit, then CR LF
  const stream = [
    `<13>${'a'.repeat(996)}\n`,
    `${exact}\r\n`,
    octetFrame(`<13>${'b'.repeat(296)}`),
    octetFrame('<13>after the long frame'),
    `<13>${'c'.repeat(95)}ä and more\n`, // 'ä' takes bytes 100-101: cut before it, not through it
  ].join('');
  const client = await openTcp(addresses.tcp!.port);
  await write(client, stream);
  await until(() => inbox.messages.length === 5, 'five messages');
  assert.deepEqual(inbox.texts(), [
    `<13>${'a'.repeat(96)}`,
    exact,
    `<13>${'b'.repeat(96)}`,
    '<13>after the long frame',
    `<13>${'c'.repeat(95)}`,
  ]);
  assert.equal(listener.stats().oversized, 3);
  client.end();
});

test('TCP: a peer that never ends its line gets it truncated at the limit, not buffered, and is read on after its LF', async (t) => {
  const inbox = new Inbox();
  const { listener, addresses } = await startListener(t, inbox, { tcp: { host: HOST, port: 0 }, maxMessageBytes: 1024 });
  const client = await openTcp(addresses.tcp!.port);
  await write(client, Buffer.alloc(4 * 1024 * 1024, 'z'));
  await until(() => inbox.messages.length === 1, 'the truncated line, before any LF was sent');
  assert.equal(inbox.messages[0].text, 'z'.repeat(1024));
  await write(client, 'zzz still the same line\n<13>next line\n');
  await until(() => inbox.messages.length === 2, 'the next line');
  assert.equal(inbox.messages[1].text, '<13>next line');
  assert.equal(listener.stats().oversized, 1);
  client.end();
});

test('TCP: garbage, PRI-less lines that start with digits and odd counts are lines; valid frames after them arrive', async (t) => {
  const inbox = new Inbox();
  const { listener, addresses } = await startListener(t, inbox, { tcp: { host: HOST, port: 0 } });
  const garbage = Buffer.from([0xff, 0xfe, 0xc3, 0x41, 0x1b, 0x5b, 0x0a]); // invalid UTF-8, an escape, then LF
  const client = await openTcp(addresses.tcp!.port);
  await write(client, garbage);
  await write(client, '12 apples and pears\n007 <13>leading zero\n1234567890 <13>ten digits\n');
  await write(client, octetFrame('<13>counted after garbage') + '<13>line after garbage\n');
  await until(() => inbox.messages.length === 6, 'six messages');
  assert.deepEqual(inbox.texts(), [
    '\ufffd\ufffd\ufffdA\x1b[',
    '12 apples and pears',
    '007 <13>leading zero',
    '1234567890 <13>ten digits',
    '<13>counted after garbage',
    '<13>line after garbage',
  ]);
  assert.equal(listener.stats().framingErrors, 0);
  client.end();
});

test('TCP: what a closing connection was in the middle of is delivered; a cut-short counted frame is a framing error', async (t) => {
  const inbox = new Inbox();
  const { listener, addresses } = await startListener(t, inbox, { tcp: { host: HOST, port: 0 } });
  const unterminated = await openTcp(addresses.tcp!.port);
  await write(unterminated, '<13>complete\n<13>no newline at the end');
  unterminated.end();
  await until(() => inbox.messages.length === 2, 'the complete and the unterminated line');
  const cutShort = await openTcp(addresses.tcp!.port);
  await write(cutShort, '50 <13>only twenty bytes');
  cutShort.end();
  await until(() => inbox.messages.length === 3, 'the partial counted frame');
  assert.deepEqual(inbox.texts(), ['<13>complete', '<13>no newline at the end', '<13>only twenty bytes']);
  assert.equal(listener.stats().framingErrors, 1);
});

test('backpressure: a full receiver stops TCP reads until resume(); UDP datagrams meanwhile are dropped and counted', async (t) => {
  const inbox = new Inbox();
  const { listener, addresses } = await startListener(t, inbox, {
    tcp: { host: HOST, port: 0 },
    udp: { host: HOST, port: 0 },
    idleTimeoutMs: 200, // shorter than the wait below: the connection must not count as idle while we are full
  });
  const lineCount = 32 * 1024; // 32 MiB: more than the loopback socket buffers of both ends can hold
  // Made before connecting: building 32 MiB after it could outlast the 200 ms idle timeout on a slow machine.
  const lines = Array.from({ length: lineCount }, (_, index) => `<13>${String(index).padStart(8, '0')} ${'p'.repeat(1010)}\n`);
  const payload = Buffer.from(lines.join(''));
  inbox.accept = false; // the first batch fills the receiver
  const client = await openTcp(addresses.tcp!.port);
  const sent = write(client, payload);
  await until(() => inbox.batches === 1, 'the first delivery');
  inbox.accept = true;
  const deliveredWhenFull = inbox.messages.length;
  assert.ok(deliveredWhenFull < lineCount);

  const udpClient = createSocket('udp4');
  t.after(() => udpClient.close());
  for (let index = 0; index < 5; index++) await sendDatagram(udpClient, `<13>udp ${index}`, addresses.udp!.port);
  await until(() => listener.stats().udpDropped === 5, 'five dropped datagrams');
  await delay(400);
  assert.equal(inbox.messages.length, deliveredWhenFull, 'nothing delivered while the receiver is full');
  assert.ok(client.writableLength > 0, "the sender's data waits in its own buffer");
  assert.equal(listener.stats().connections, 1, 'the paused connection is still open');

  listener.resume();
  await sent;
  await until(() => inbox.messages.length === lineCount, 'every line after resume()', 20_000);
  assert.deepEqual(
    inbox.texts(),
    lines.map((line) => line.slice(0, -1)),
  );
  await sendDatagram(udpClient, '<13>udp after resume', addresses.udp!.port);
  await until(() => inbox.messages.length === lineCount + 1, 'the datagram sent after resume()');
  assert.equal(inbox.messages.at(-1)!.text, '<13>udp after resume');
  const { received, udpDropped, framingErrors, oversized } = listener.stats();
  assert.deepEqual(
    { received, udpDropped, framingErrors, oversized },
    { received: lineCount + 6, udpDropped: 5, framingErrors: 0, oversized: 0 },
  );
  client.end();
});

test(
  'TLS: a node client trusting the self-signed certificate is framed like TCP; a failed handshake harms no one else',
  { skip: opensslSkip },
  async (t) => {
    const { keyFile: key, certFile: cert } = await selfSignedCertificate(work);
    const inbox = new Inbox();
    const tls = { host: HOST, port: 0, cert: readFileSync(cert), key: readFileSync(key) };
    const { listener, addresses } = await startListener(t, inbox, { tls });
    const port = addresses.tls!.port;

    const plaintext = await openTcp(port); // speaks syslog, not TLS
    await write(plaintext, '<13>this is not a ClientHello\n');
    await closed(plaintext);

    const client = connectTls({ host: HOST, port, servername: 'localhost', ca: readFileSync(cert), rejectUnauthorized: true });
    await new Promise<void>((resolve, reject) => client.once('secureConnect', resolve).once('error', reject));
    client.write(octetFrame('<13>1 - host app - - - over tls') + '<13>line over tls\n');
    await until(() => inbox.messages.length === 2, 'two TLS messages');
    assert.deepEqual(inbox.texts(), ['<13>1 - host app - - - over tls', '<13>line over tls']);
    assert.ok(inbox.messages.every((message) => message.transport === 'tls' && /^127\.0\.0\.1:\d+$/.test(message.peer)));
    assert.equal(listener.stats().socketErrors, 1, 'the failed handshake');
    client.end();
  },
);

test('connections: a reset one harms no other, the one over maxConnections is refused, an idle one times out', async (t) => {
  const inbox = new Inbox();
  const { listener, addresses } = await startListener(t, inbox, {
    tcp: { host: HOST, port: 0 },
    maxConnections: 2,
    idleTimeoutMs: 1000,
  });
  const port = addresses.tcp!.port;
  const steady = await openTcp(port);
  const reset = await openTcp(port);
  await write(reset, '<13>partial before the reset');
  await until(() => listener.stats().connections === 2, 'two connections');

  const refused = await openTcp(port);
  await closed(refused);
  assert.equal(listener.stats().connectionsRefused, 1);

  reset.resetAndDestroy();
  await write(steady, '<13>steady one\n');
  await until(() => inbox.texts().includes('<13>steady one'), 'the steady connection');
  await write(steady, '<13>steady, idle after this');
  await closed(steady);
  await until(() => listener.stats().connections === 0, 'the server to finish the idle connection');
  assert.deepEqual(inbox.texts().sort(), ['<13>partial before the reset', '<13>steady one', '<13>steady, idle after this']);
  assert.equal(listener.stats().socketErrors, 1, 'the reset');
});

test('close() closes the listening sockets and every open connection, delivering the message it was in the middle of', async (t) => {
  const inbox = new Inbox();
  const listener = new SyslogListener({ tcp: { host: HOST, port: 0 }, udp: { host: HOST, port: 0 }, deliver: inbox.deliver });
  const addresses = await listener.start();
  t.after(() => listener.close());
  const open = await openTcp(addresses.tcp!.port);
  await write(open, '<13>complete\n<13>partial at close');
  await until(() => inbox.messages.length === 1, 'the complete line');
  await listener.close();
  assert.deepEqual(inbox.texts(), ['<13>complete', '<13>partial at close']);
  await closed(open);
  assert.equal(listener.stats().connections, 0);
  await assert.rejects(openTcp(addresses.tcp!.port), /ECONNREFUSED/);
});

test('start() names the transport whose port is taken and releases the others; bad options are refused', async (t) => {
  const inbox = new Inbox();
  const { addresses } = await startListener(t, inbox, { tcp: { host: HOST, port: 0 } });
  const taken = addresses.tcp!.port;
  const clashing = new SyslogListener({ udp: { host: HOST, port: 0 }, tcp: { host: HOST, port: taken }, deliver: inbox.deliver });
  await assert.rejects(clashing.start(), new RegExp(`^Error: syslog tcp listener on 127\\.0\\.0\\.1:${taken}: .*EADDRINUSE`));
  assert.throws(() => new SyslogListener({ deliver: inbox.deliver }), /give at least one of udp, tcp or tls/);
  assert.throws(
    () => new SyslogListener({ tcp: { host: HOST, port: 0 }, maxMessageBytes: 0, deliver: inbox.deliver }),
    /maxMessageBytes must be a positive integer, got 0/,
  );
});

function zeroStats() {
  return { received: 0, udpDropped: 0, framingErrors: 0, connections: 0, oversized: 0, connectionsRefused: 0, socketErrors: 0 };
}
