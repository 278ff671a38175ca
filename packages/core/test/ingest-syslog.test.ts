/** Syslog messages: RFC 5424, RFC 3164 and rsyslog's file lines, their events, and SigmaHQ's Linux rules firing on them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadRules } from '@firebreak/sigma';
import { sharedPath, sharedSkip } from '@firebreak/testkit';
import {
  MAX_SYSLOG_LENGTH,
  parseIngestBody,
  parseSyslog,
  syslogEvent,
  type FirebreakEvent,
  type SyslogContext,
  type SyslogMessage,
} from '../src/index.js';

const RECEIVED = Date.UTC(2024, 4, 1, 12, 0, 0);
const context: SyslogContext = { receivedAt: RECEIVED, peer: '192.0.2.7' };

function parsed(text: string, at: SyslogContext = context): SyslogMessage {
  const result = parseSyslog(text, at);
  if ('error' in result) assert.fail(`${text}: ${result.error}`);
  return result;
}

function error(text: string, at: SyslogContext = context): string {
  const result = parseSyslog(text, at);
  assert.ok('error' in result, `${text} was read as a message`);
  return result.error;
}

const event = (text: string): FirebreakEvent =>
  syslogEvent(parsed(text), { file: 'syslog:udp:192.0.2.7', origin: 'syslog:udp:192.0.2.7#1' }, text);

test('RFC 5424: header fields, nil values, structured data with escapes, a byte-order mark before MSG', () => {
  const text =
    '<165>1 2003-10-11T22:14:15.003-07:00 mymachine.example.com evntslog 4242 ID47 ' +
    '[exampleSDID@32473 iut="3" eventSource="App\\]lication \\"x\\" C:\\\\dir\\n" eventID="1011"][examplePriority@32473 class="high"]' +
    ' \ufeffAn application event log entry...\n';
  const message = parsed(text);
  assert.deepEqual(message, {
    format: 'rfc5424',
    priority: 165,
    facility: 20,
    severity: 5,
    timestamp: Date.UTC(2003, 9, 12, 5, 14, 15, 3),
    hostname: 'mymachine.example.com',
    appName: 'evntslog',
    procId: '4242',
    msgId: 'ID47',
    structuredData: [
      {
        id: 'exampleSDID@32473',
        params: [
          ['iut', '3'],
          ['eventSource', 'App]lication "x" C:\\dir\\n'],
          ['eventID', '1011'],
        ],
      },
      { id: 'examplePriority@32473', params: [['class', 'high']] },
    ],
    message: 'An application event log entry...',
  });
  const nil = parsed('<34>1 - - - - - -');
  assert.equal(nil.timestamp, RECEIVED, 'no TIMESTAMP: when it was received');
  assert.equal(nil.hostname, '192.0.2.7', 'no HOSTNAME: the peer');
  assert.deepEqual([nil.appName, nil.procId, nil.msgId, nil.message, nil.structuredData], [undefined, undefined, undefined, '', []]);
  assert.equal(parsed("<34>1 2003-10-11T22:14:15Z host su - ID47 - 'su root' failed").message, "'su root' failed");
});

test('RFC 5424: a malformed message is refused with what is wrong', () => {
  assert.equal(error('<34>1 2003-10-11T22:14:15Z host su'), 'RFC 5424 header ends after APP-NAME');
  assert.equal(error('<34>1 2003-10-11T22:14:15Z host su '), 'RFC 5424 header ends before PROCID');
  assert.equal(error('<34>1 2003-10-11T22:14:15Z host  su - - -'), 'RFC 5424 APP-NAME is empty (two spaces in a row)');
  assert.equal(error('<34>1 2003-13-45T99:14:15Z host su - - - x'), 'RFC 5424 TIMESTAMP "2003-13-45T99:14:15Z" is not an RFC 3339 time');
  assert.equal(error('<34>1 - host su - - [id a="1 x]'), 'the value of id a has no closing quote');
  assert.equal(error('<34>1 - host su - - [id a="1" x'), 'a parameter of [id] is not name="value"');
  assert.equal(error('<34>1 - host su - - [id a="1"'), 'structured data element [id is not closed by "]"');
  assert.equal(error('<34>1 - host su - - [id a=1]'), 'a parameter of [id] is not name="value"');
  assert.equal(error('<34>1 - host su - - [id a="1"]x'), 'no space between STRUCTURED-DATA and MSG');
  assert.equal(error('<34>1 - host su - - x'), 'STRUCTURED-DATA is neither "-" nor "[…]" but begins "x"');
  assert.equal(error('<34>2 - host su - - -'), "syslog protocol version 2 is not supported (only RFC 5424's 1)");
});

test('PRI: 0 to 191 in angle brackets', () => {
  assert.equal(error('<192>Oct 11 22:14:15 host app: x'), 'PRI 192 is beyond 191');
  assert.equal(error('<1a>Oct 11 22:14:15 host app: x'), '"<1a>O" is no PRI: "<", 1 to 3 digits, ">"');
  assert.equal(error('<>x'), '"<>x" is no PRI: "<", 1 to 3 digits, ">"');
  assert.equal(error('\n'), 'empty message');
  assert.deepEqual(
    [0, 191].map((pri) => parsed(`<${pri}>Oct 11 22:14:15 host app: x`)).map((m) => [m.facility, m.severity]),
    [
      [0, 0],
      [23, 7],
    ],
  );
});

test('RFC 3164: TAG with and without pid, HOSTNAME left out by local senders, a message with no readable time', () => {
  const withPid = parsed('<38>Apr 30 22:14:15 web-01 sshd[4711]: Accepted publickey for alice from 198.51.100.4 port 50022 ssh2');
  assert.deepEqual(
    [withPid.format, withPid.priority, withPid.hostname, withPid.appName, withPid.procId, withPid.message],
    ['rfc3164', 38, 'web-01', 'sshd', '4711', 'Accepted publickey for alice from 198.51.100.4 port 50022 ssh2'],
  );
  assert.equal(withPid.timestamp, Date.UTC(2024, 3, 30, 22, 14, 15), 'UTC, in the year it was received');
  const withoutPid = parsed('<6>May  1 11:59:59 web-01 kernel: [ 12.345] usb 1-1: new device');
  assert.deepEqual(
    [withoutPid.appName, withoutPid.procId, withoutPid.message, withoutPid.timestamp],
    ['kernel', undefined, '[ 12.345] usb 1-1: new device', Date.UTC(2024, 4, 1, 11, 59, 59)],
  );
  const local = parsed('<86>May  1 11:00:00 sudo[88]: pam_unix(sudo:session): session opened');
  assert.deepEqual([local.hostname, local.appName, local.procId], ['192.0.2.7', 'sudo', '88']);
  const ipv6Host = parsed('<13>May  1 11:00:00 fe80::1 app: x');
  assert.deepEqual([ipv6Host.hostname, ipv6Host.appName], ['fe80::1', 'app']);
  const untagged = parsed('<13>May  1 11:00:00 web-01 a message without a tag');
  assert.deepEqual([untagged.hostname, untagged.appName, untagged.message], ['web-01', undefined, 'a message without a tag']);
  const fraction = parsed('<13>May  1 11:00:00.250 web-01 app: x');
  assert.equal(fraction.timestamp, Date.UTC(2024, 4, 1, 11, 0, 0, 250));
  const yearGiven = parsed('<13>Dec 24 2019 11:00:00 router app: x');
  assert.equal(yearGiven.timestamp, Date.UTC(2019, 11, 24, 11));
  const noTime = parsed('<13>router-7 link down on port 3');
  assert.deepEqual(
    [noTime.timestamp, noTime.hostname, noTime.appName, noTime.message],
    [RECEIVED, '192.0.2.7', undefined, 'router-7 link down on port 3'],
  );
  assert.equal(error('<13>Feb 30 11:00:00 host app: x'), '"Feb 30 11:00:00" is no date in the year before, of or after it was received');
  assert.equal(error('<13>Feb 10 24:00:00 host app: x'), '"Feb 10 24:00:00" is no valid time');
});

test('RFC 3164 has no year: the one nearest to the receive time and at most a day ahead of it', () => {
  const at = (iso: string): SyslogContext => ({ receivedAt: Date.parse(iso) });
  const time = (text: string, received: string): string => new Date(parsed(text, at(received)).timestamp).toISOString();
  assert.equal(time('<13>Dec 31 23:59:58 h a: x', '2025-01-01T00:00:03Z'), '2024-12-31T23:59:58.000Z', 'sent just before New Year');
  assert.equal(time('<13>Jan  1 00:00:04 h a: x', '2024-12-31T23:59:59Z'), '2025-01-01T00:00:04.000Z', "the sender's clock a little ahead");
  assert.equal(
    time('<13>Jan  2 00:00:00 h a: x', '2024-12-31T23:59:59Z'),
    '2024-01-02T00:00:00.000Z',
    'more than a day ahead: last January',
  );
  assert.equal(time('<13>Dec 31 10:00:00 h a: x', '2024-06-30T00:00:00Z'), '2023-12-31T10:00:00.000Z', 'half a year ahead: last year');
  assert.equal(time('<13>Feb 29 10:00:00 h a: x', '2025-02-01T00:00:00Z'), '2024-02-29T10:00:00.000Z', 'the leap day of last year');
});

test('lines rsyslog writes to files: no PRI, traditional or high-precision time', () => {
  const traditional = parsed('May  1 10:00:00 web-01 CRON[42]: (root) CMD (run-parts /etc/cron.hourly)');
  assert.deepEqual(
    [traditional.format, traditional.priority, traditional.facility, traditional.hostname, traditional.appName, traditional.procId],
    ['rfc3164', undefined, undefined, 'web-01', 'CRON', '42'],
  );
  const precise = parsed('2024-05-01T10:00:00.123456+02:00 web-01 systemd[1]: Started Session 4 of user alice.');
  assert.deepEqual(
    [precise.timestamp, precise.hostname, precise.appName, precise.message],
    [Date.UTC(2024, 4, 1, 8, 0, 0, 123), 'web-01', 'systemd', 'Started Session 4 of user alice.'],
  );
  const e = event('May  1 10:00:00 web-01 CRON[42]: (root) CMD (true)');
  assert.deepEqual([e.fields.get('facility'), e.fields.get('severity'), e.fields.get('priority')], [undefined, undefined, undefined]);
});

test('an oversized message is refused; a linear pass keeps crafted maximum-length messages fast', () => {
  const big = `<13>May  1 10:00:00 web-01 app: ${'x'.repeat(MAX_SYSLOG_LENGTH)}`;
  assert.equal(error(big), `message longer than ${MAX_SYSLOG_LENGTH} characters`);
  const fill = (prefix: string, unit: string): string =>
    prefix + unit.repeat(Math.floor((MAX_SYSLOG_LENGTH - prefix.length) / unit.length));
  const crafted = [
    fill('<13>1 - h a - - ', '['),
    fill('<13>1 - h a - - [id', ' a="\\\\'),
    fill('<13>1 - h a - - [id a="', '\\'),
    fill('<13>May  1 10:00:00 h sudo: u : ', 'A ; '),
    fill('<13>May  1 10:00:00 h ', 'a['),
    fill('<13>', ' '),
  ];
  const start = performance.now();
  for (let i = 0; i < 10; i++) for (const text of crafted) parseSyslog(text, context);
  const elapsed = performance.now() - start;
  assert.ok(elapsed < 1000, `60 crafted 64 KiB messages took ${elapsed} ms`);
});

test('the event: named facility and severity, header fields, sd.<id>.<param>, sudo pairs, host, time, layer', () => {
  const e = event(
    '<86>1 2024-05-01T10:00:00Z web-01 sudo 88 - [meta sequenceId="1" tag="a" tag="b"] alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id ; ls',
  );
  assert.deepEqual(e.plainFields(), {
    __proto__: null,
    _source: 'syslog',
    facility: 'authpriv',
    severity: 'info',
    priority: 86,
    hostname: 'web-01',
    app_name: 'sudo',
    procid: '88',
    message: 'alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id ; ls',
    'sd.meta.sequenceId': '1',
    'sd.meta.tag': ['a', 'b'],
    TTY: 'pts/0',
    PWD: '/home/alice',
    USER: 'root',
    COMMAND: '/usr/bin/id ; ls',
  });
  assert.equal(e.host, 'web-01');
  assert.equal(e.timestamp, Date.UTC(2024, 4, 1, 10));
  assert.equal(e.layer, 'server');
  assert.equal(e.channel, 'syslog');
  assert.equal(e.source.format, 'syslog');
  assert.equal(e.origin, 'syslog:udp:192.0.2.7#1');
  assert.deepEqual(e.logsource, { product: 'linux', service: 'syslog' });
  assert.equal(event('<34>Oct 11 22:14:15 h sshd[1]: x').fields.get('facility'), 'auth');
});

test('a body of syslog lines: bad lines rejected by number, the good around them kept', () => {
  const lines = [
    '<38>Apr 30 22:14:15 web-01 sshd[4711]: Failed password for root from 198.51.100.4 port 50022 ssh2',
    '<999>Apr 30 22:14:15 web-01 sshd[4711]: x',
    '',
    'Apr 30 22:14:16 web-01 sshd[4711]: Connection closed by 198.51.100.4',
    `<13>Apr 30 22:14:17 web-01 app: ${'y'.repeat(MAX_SYSLOG_LENGTH)}`,
    '<13>1 - web-01 app - - [broken',
    '<13>1 2024-04-30T22:14:18Z web-01 app - - - last',
  ];
  const batch = parseIngestBody('syslog', lines.join('\r\n'), { origin: 'http:rsyslog', receivedAt: RECEIVED });
  assert.deepEqual(batch.rejected, [
    { line: 2, error: 'PRI 999 is beyond 191' },
    { line: 5, error: `line longer than ${MAX_SYSLOG_LENGTH} characters` },
    { line: 6, error: 'structured data element [broken is not closed by "]"' },
  ]);
  assert.deepEqual(
    batch.events.map((e) => [e.origin, e.file, e.host, e.fields.get('message'), e.raw()]),
    [
      ['http:rsyslog:1', 'http:rsyslog', 'web-01', 'Failed password for root from 198.51.100.4 port 50022 ssh2', lines[0]],
      ['http:rsyslog:4', 'http:rsyslog', 'web-01', 'Connection closed by 198.51.100.4', lines[3]],
      ['http:rsyslog:7', 'http:rsyslog', 'web-01', 'last', lines[6]],
    ],
  );
});

const SIGMA_LINUX = 'sigma/rules/linux/builtin';
const PWNKIT = 'sigma/rules-emerging-threats/2021/Exploits/CVE-2021-4034/lnx_auth_exploit_cve_2021_4034_pwnkit_lpe.yml';
const SUDO_CVE = 'sigma/rules-emerging-threats/2019/Exploits/CVE-2019-14287/lnx_sudo_exploit_cve_2019_14287.yml';

test(
  'SigmaHQ linux syslog, sshd, auth and sudo rules fire on syslog events through the shipped mapping',
  { skip: sharedSkip(PWNKIT) },
  () => {
    const { ruleSet } = loadRules([sharedPath(SIGMA_LINUX), sharedPath(PWNKIT), sharedPath(SUDO_CVE)]);
    const titles = (text: string): string[] =>
      ruleSet
        .match(event(text).fields)
        .map((m) => m.rule.title)
        .sort();
    assert.deepEqual(titles('<30>May  1 10:00:00 fw-01 systemd[1]: Stopping firewalld - dynamic firewall daemon...'), [
      'Disabling Security Tools - Builtin',
    ]);
    assert.deepEqual(titles('<38>1 2024-05-01T10:00:00Z web-01 sshd 4711 - - error: Corrupted MAC on input.'), [
      'Suspicious OpenSSH Daemon Error',
    ]);
    assert.deepEqual(
      titles(
        '<85>May  1 10:00:00 web-01 pkexec[3045]: alice: The value for environment variable XAUTHORITY contains suspicious content [USER=root] [TTY=/dev/pts/0] [CWD=/home/alice] [COMMAND=GCONV_PATH=./pwnkit.so:.]',
      ),
      ['PwnKit Local Privilege Escalation'],
    );
    assert.deepEqual(titles('<85>May  1 10:00:00 web-01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=#-1 ; COMMAND=/usr/bin/id'), [
      'Sudo Privilege Escalation CVE-2019-14287 - Builtin',
    ]);
    assert.deepEqual(
      titles('<85>May  1 10:00:00 web-01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id'),
      [],
    );
    // A service's keywords fire on that service's messages only: crontab's REPLACE, not apt's.
    assert.deepEqual(titles('<78>May  1 10:00:00 web-01 crontab[812]: (root) REPLACE (root)'), ['Modifying Crontab']);
    assert.deepEqual(titles('<14>May  1 10:00:00 web-01 apt[900]: REPLACE tzdata 2024a'), []);
    assert.deepEqual(titles('May  1 10:00:00 web-01 sshd[77]: error: Corrupted MAC on input.'), ['Suspicious OpenSSH Daemon Error']);
  },
);
