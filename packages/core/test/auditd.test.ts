/** Linux audit logs: records assembled into events, values decoded, both log formats, damage kept local. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadRules } from '@firebreak/sigma';
import { sharedPath, sharedSkip } from '@firebreak/testkit';
import { readEventFile, type FirebreakEvent, type ReadProblem } from '../src/index.js';
import { MAX_OPEN_TEXT } from '../src/readers/auditd.js';

const work = mkdtempSync(join(tmpdir(), 'firebreak-auditd-'));
after(() => rmSync(work, { recursive: true, force: true }));

const hex = (text: string): string => Buffer.from(text).toString('hex').toUpperCase();
const GS = '\x1d';

async function read(name: string, lines: string[]): Promise<{ events: FirebreakEvent[]; problems: string[] }> {
  const path = join(work, name);
  writeFileSync(path, lines.join('\n') + '\n');
  const problems: ReadProblem[] = [];
  const events = [];
  for await (const e of readEventFile(path, (p) => problems.push(p))) events.push(e);
  return { events, problems: problems.map((p) => `${p.origin.slice(work.length + 1)}: ${p.message}`) };
}

const fields = (event: FirebreakEvent): Record<string, unknown> =>
  Object.fromEntries([...event.fields.keys()].map((k) => [k, event.fields.get(k)]));

/** The records auditd writes for `execve("/usr/bin/touch", ["touch", "-t", "202401010000", target])`. */
function execEvent(stamp: string, enriched: boolean, target = '/tmp/a b'): string[] {
  const e = (text: string): string => (enriched ? GS + text : '');
  return [
    `type=SYSCALL msg=audit(${stamp}): arch=c000003e syscall=59 success=yes exit=0 a0=55d0c3a0b2c0 a1=55d0c3a0b300 a2=7ffd2c1e8a58 a3=0 items=2 ppid=900 pid=901 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="touch" exe="/usr/bin/touch" key="exec"` +
      e(
        `ARCH=x86_64 SYSCALL=execve AUID="alice" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`,
      ),
    `type=EXECVE msg=audit(${stamp}): argc=4 a0="touch" a1="-t" a2="202401010000" a3=${hex(target)}`,
    `type=CWD msg=audit(${stamp}): cwd=${hex('/home/alice/my dir')}`,
    `type=PATH msg=audit(${stamp}): item=0 name="/usr/bin/touch" inode=1 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL` +
      e(`OUID="root" OGID="root"`),
    `type=PATH msg=audit(${stamp}): item=1 name=${hex(target)} inode=2 dev=fe:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=CREATE` +
      e(`OUID="root" OGID="root"`),
    `type=PROCTITLE msg=audit(${stamp}): proctitle=${hex(['touch', '-t', '202401010000', target].join('\0'))}`,
  ];
}

test('the records of one event become one event: types, every key, lists for repeated keys, hints', async () => {
  const { events, problems } = await read('raw.log', execEvent('1714557600.123:42', false));
  assert.deepEqual(problems, []);
  assert.equal(events.length, 1);
  const event = events[0]!;
  const f = fields(event);
  assert.equal(f._source, 'auditd');
  assert.deepEqual(f.type, ['SYSCALL', 'EXECVE', 'CWD', 'PATH', 'PATH', 'PROCTITLE']);
  // The SYSCALL record's registers, then the EXECVE record's arguments.
  assert.deepEqual(f.a0, ['55d0c3a0b2c0', 'touch']);
  assert.deepEqual(f.a3, ['0', '/tmp/a b']);
  assert.deepEqual(f.name, ['/usr/bin/touch', '/tmp/a b']);
  assert.deepEqual(f.nametype, ['NORMAL', 'CREATE']);
  assert.equal(f.cwd, '/home/alice/my dir');
  assert.equal(f.proctitle, 'touch -t 202401010000 /tmp/a b');
  assert.equal(f.exe, '/usr/bin/touch');
  assert.equal(f.key, 'exec');
  assert.equal(f.argc, '4');
  assert.equal(f.SYSCALL, undefined, 'no ENRICHED part in a RAW log');
  assert.equal(event.source.format, 'auditd');
  assert.equal(event.origin, `${join(work, 'raw.log')}:1`);
  assert.equal(event.timestamp, 1714557600123);
  assert.equal(event.recordId, 42);
  assert.equal(event.channel, 'auditd');
  assert.equal(event.layer, 'server');
  assert.equal(event.host, undefined);
  assert.deepEqual(event.logsource, { product: 'linux', service: 'auditd' });
  assert.equal(event.raw(), execEvent('1714557600.123:42', false).join('\n'));
});

test('the ENRICHED format adds the translated fields; node= names the host', async () => {
  const lines = execEvent('1714557600.5:43', true).map((line) => `node=web-01 ${line}`);
  lines.push(
    `node=web-01 type=SOCKADDR msg=audit(1714557600.5:43): saddr=100000000000000000000000${GS}SADDR={ saddr_fam=netlink nlnk-fam=16 nlnk-pid=0 }`,
  );
  const { events, problems } = await read('enriched.log', lines);
  assert.deepEqual(problems, []);
  const f = fields(events[0]!);
  assert.equal(f.SYSCALL, 'execve');
  assert.equal(f.ARCH, 'x86_64');
  assert.equal(f.AUID, 'alice');
  assert.deepEqual(f.OUID, ['root', 'root']);
  assert.equal(f.SADDR, '{ saddr_fam=netlink nlnk-fam=16 nlnk-pid=0 }');
  assert.equal(f.saddr, '100000000000000000000000', 'binary socket addresses stay hex');
  assert.equal(f.node, 'web-01');
  assert.equal(events[0]!.host, 'web-01');
  assert.equal(events[0]!.timestamp, 1714557600500);
});

test('hex-encoded values are decoded where auditd encodes them, and only there', async () => {
  const stamp = 'msg=audit(1714557601.000:50)';
  const { events, problems } = await read('hex.log', [
    `type=SYSCALL ${stamp}: arch=c000003e syscall=59 a0=deadbeef items=1 comm=${hex('my cmd')} exe=${hex('/opt/x y/bin')} key=${hex('one\x01two')} subj=unconfined`,
    `type=EXECVE ${stamp}: argc=3 a0="sh" a1_len=8 a1[0]=${hex('-c ')} a1[1]=${hex('echo ✓')} a2=${hex('tab\there')}`,
    `type=PATH ${stamp}: item=0 name=(null) inode=5 nametype=UNKNOWN`,
    `type=PROCTITLE ${stamp}: proctitle="sleep"`,
  ]);
  assert.deepEqual(problems, []);
  const f = fields(events[0]!);
  assert.deepEqual(f.a0, ['deadbeef', 'sh']);
  assert.deepEqual(f.a1, '-c echo ✓');
  assert.equal(f.a1_len, '8');
  assert.equal(f.a2, 'tab\there');
  assert.equal(f.comm, 'my cmd');
  assert.equal(f.exe, '/opt/x y/bin');
  assert.deepEqual(f.key, ['one', 'two']);
  assert.equal(f.name, '(null)');
  assert.equal(f.proctitle, 'sleep');
  assert.equal(f.subj, 'unconfined');
});

test('interleaved events are told apart by their serial and handed out in the order they complete', async () => {
  const a = execEvent('1714557602.000:60', false);
  const b = execEvent('1714557602.001:61', false, '/tmp/other file');
  const { events, problems } = await read('interleaved.log', [
    a[0]!,
    b[0]!,
    a[1]!,
    b[1]!,
    b[2]!,
    a[2]!,
    ...b.slice(3),
    'type=EOE msg=audit(1714557602.001:61): ',
    ...a.slice(3),
    'type=USER_LOGIN msg=audit(1714557603.000:62): pid=5 uid=0 msg=\'op=login acct="alice" exe="/usr/sbin/sshd" hostname=? addr=10.0.0.9 terminal=ssh res=failed\'',
  ]);
  assert.deepEqual(problems, []);
  // 61 is complete at its EOE; 60 and 62 at the end of the file, in the order they started.
  assert.deepEqual(
    events.map((e) => e.recordId),
    [61, 60, 62],
  );
  assert.deepEqual(fields(events[0]!).type, ['SYSCALL', 'EXECVE', 'CWD', 'PATH', 'PATH', 'PROCTITLE']);
  assert.deepEqual(fields(events[1]!).type, ['SYSCALL', 'EXECVE', 'CWD', 'PATH', 'PATH', 'PROCTITLE']);
  assert.deepEqual(fields(events[0]!).name, ['/usr/bin/touch', '/tmp/other file']);
  assert.deepEqual(fields(events[1]!).name, ['/usr/bin/touch', '/tmp/a b']);
  assert.equal(events[0]!.origin.endsWith(':2'), true);
  // A user-space message's own pairs, inside msg='…', are the event's fields.
  const login = fields(events[2]!);
  assert.equal(login.acct, 'alice');
  assert.equal(login.addr, '10.0.0.9');
  assert.equal(login.res, 'failed');
  assert.equal(login.op, 'login');
});

test('a malformed line is reported with its file and line, and the rest is read', async () => {
  const { events, problems } = await read('broken.log', [
    'type=USER_START msg=audit(1714557604.000:70): pid=1 uid=0 res=success',
    'type=USER_START msg=audit(1714557604.000:71) pid=1 uid=0 res=success',
    'garbage that is not a record',
    'type=USER_END msg=audit(yesterday:72): pid=1',
    `type=USER_END msg=audit(1714557604.000:73): pid=1 uid=0 ${'x'.repeat(2 * 1024 * 1024)}`,
    'type=USER_END msg=audit(1714557604.000:74): pid=1 uid=0 res=success',
  ]);
  assert.deepEqual(
    events.map((e) => e.recordId),
    [70, 74],
  );
  assert.deepEqual(problems, [
    'broken.log:2: not an audit record: msg=audit( is not closed by "):"',
    'broken.log:3: not an audit record: no type=',
    'broken.log:4: not an audit record: "yesterday:72" is not time:serial',
    'broken.log:5: line longer than 1048576 characters; skipped',
  ]);
});

test('ausearch output: separators and time lines are passed over', async () => {
  const { events, problems } = await read('ausearch.txt', [
    '----',
    'time->Wed May  1 10:00:05 2024',
    ...execEvent('1714557605.000:80', false),
    '----',
    'time->Wed May  1 10:00:06 2024',
    'type=USER_LOGIN msg=audit(1714557606.000:81): pid=5 uid=0 res=success',
    '----',
    'type=AVC msg=audit(1714557607.000:82): avc:  denied  { read } for  pid=5 comm="cat" name="shadow" permissive=0 trailing',
  ]);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    events.map((e) => e.recordId),
    [80, 81, 82],
  );
  // Words without `=` (AVC's prose) are passed over; the pairs around them are read.
  const avc = fields(events[2]!);
  assert.deepEqual([avc.pid, avc.comm, avc.name, avc.permissive, avc.trailing], ['5', 'cat', 'shadow', '0', undefined]);
});

test('an event that keeps getting records does not hold back the events after it', async () => {
  // Serial 1 gets a record every 100 lines (within the 256-line window, so it stays open to the end);
  // the single-record events between are handed out as each completes, not held until 1 ends.
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) {
    if (i % 100 === 0) lines.push(`type=PATH msg=audit(1714557609.000:1): item=${i / 100} name="/tmp/f${i}"`);
    else lines.push(`type=USER_LOGIN msg=audit(1714557609.000:${i + 1}): pid=1 uid=0 res=success`);
  }
  const { events, problems } = await read('long-running.log', lines);
  assert.deepEqual(problems, []);
  const serials = events.map((e) => e.recordId);
  // Serial 1 completes at the end of the file, with the events of the last window (in the order they
  // started); all the others went out as they completed, in file order here.
  const longRunning = serials.indexOf(1);
  assert.ok(longRunning > 1500, `serial 1 handed out after ${longRunning} events`);
  assert.equal((fields(events[longRunning]!).type as string[]).length, 20);
  assert.deepEqual(
    serials.filter((serial) => serial !== 1),
    lines.map((_, i) => i + 1).filter((serial) => (serial - 1) % 100 !== 0),
  );
});

test('open events holding more than MAX_OPEN_TEXT are handed out early, the one waiting longest first', async () => {
  const value = 'x'.repeat(64 * 1024);
  const record = (serial: number, i: number): string => `type=PATH msg=audit(1714557610.000:${serial}): item=${i} name=${value}`;
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) lines.push(record(1, i), record(2, i));
  const { events, problems } = await read('large.log', lines);
  // Serial 1 and 2 share the budget: once their text passes it, 1 (whose last record is older) goes first.
  const perRecord = record(1, 10).length;
  const first = Math.floor(MAX_OPEN_TEXT / perRecord / 2) + 1;
  const split = events.map((e) => [e.recordId, (fields(e).type as string[]).length]);
  assert.deepEqual(split[0], [1, first]);
  assert.ok(problems[0]!.startsWith(`large.log:1: open audit events hold more than ${MAX_OPEN_TEXT} characters`), problems[0]);
  // Nothing is lost: every record is in one of the events.
  const records = (serial: number): number => split.filter(([s]) => s === serial).reduce((n, [, count]) => n + count!, 0);
  assert.deepEqual([records(1), records(2)], [40, 40]);
  assert.equal(problems.length, events.length - 2);
});

const AUDITD_RULES = 'sigma/rules/linux/auditd';

test('SigmaHQ auditd rules fire on assembled events', { skip: sharedSkip(AUDITD_RULES) }, async () => {
  const { ruleSet } = loadRules([sharedPath(AUDITD_RULES)]);
  const { events } = await read('sigma.log', [
    // systemd stopping the firewall (a user-space message), and `touch -t` changing a file's time.
    `type=SERVICE_STOP msg=audit(1714557607.000:90): pid=1 uid=0 auid=4294967295 ses=4294967295 subj=unconfined msg='unit=firewalld comm="systemd" exe="/usr/lib/systemd/systemd" hostname=? addr=? terminal=? res=success'`,
    ...execEvent('1714557608.000:91', true),
  ]);
  const titles = events.map((e) => ruleSet.match(e.fields).map((m) => m.rule.title));
  assert.deepEqual(titles, [['Disable System Firewall'], ['File Time Attribute Change - Linux']]);
});
