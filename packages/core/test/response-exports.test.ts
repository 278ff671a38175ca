/** Blocklist exports: an RPZ zone read back record by record, and the plain-text lists. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { domainBlocklist, ipBlocklist, rpzZone, urlBlocklist } from '../src/index.js';

interface ZoneRecord {
  owner: string;
  ttl: number | null;
  type: string;
  data: string[];
}

/**
 * A reader for the zone-file subset an RPZ zone uses (one record a line, `;` comments, $ORIGIN and
 * $TTL), strict enough to reject what a resolver would: unknown directives, classes or types.
 */
function readZone(text: string): { origin: string | null; ttl: number | null; records: ZoneRecord[]; comments: string[] } {
  assert.ok(text.endsWith('\n'), 'a zone file ends with a newline');
  const zone = { origin: null as string | null, ttl: null as number | null, records: [] as ZoneRecord[], comments: [] as string[] };
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith(';')) {
      zone.comments.push(line);
      continue;
    }
    const fields = line.split(/\s+/);
    if (fields[0] === '$ORIGIN') {
      assert.equal(fields.length, 2, line);
      assert.match(fields[1]!, /\.$/, 'an origin is absolute');
      zone.origin = fields[1]!;
    } else if (fields[0] === '$TTL') {
      assert.equal(fields.length, 2, line);
      zone.ttl = Number(fields[1]);
    } else {
      const [owner, ...rest] = fields;
      assert.match(owner!, /^(@|(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*)$/, `owner of: ${line}`);
      const ttl = /^\d+$/.test(rest[0]!) ? Number(rest.shift()) : null;
      if (rest[0] === 'IN') rest.shift();
      const type = rest.shift()!;
      assert.ok(['SOA', 'NS', 'CNAME'].includes(type), `type of: ${line}`);
      zone.records.push({ owner: owner!, ttl, type, data: rest });
    }
  }
  return zone;
}

test('an RPZ zone: $TTL, SOA, NS, then NXDOMAIN for each domain and its subdomains', () => {
  const text = rpzZone(
    [
      'Evil.Example.COM.',
      'c2.bad.example',
      'evil.example.com',
      'bücher.example',
      'not a domain',
      '10.0.0.1',
      'localhost',
      '-bad-.example',
      `${'a'.repeat(64)}.example`,
      '*.wild.example',
    ],
    { serial: 2024061701, ttl: 120 },
  );
  const zone = readZone(text);
  assert.equal(zone.origin, null);
  assert.equal(zone.ttl, 120);
  assert.deepEqual(zone.comments, ['; Firebreak response policy zone: 3 blocked domains']);
  const [soa, ns, ...policies] = zone.records;
  assert.deepEqual(soa, {
    owner: '@',
    ttl: null,
    type: 'SOA',
    data: ['localhost.', 'hostmaster.localhost.', '2024061701', '3600', '600', '86400', '120'],
  });
  assert.deepEqual(ns, { owner: '@', ttl: null, type: 'NS', data: ['localhost.'] });
  assert.deepEqual(
    policies.map((r) => `${r.owner} ${r.type} ${r.data.join(' ')}`),
    [
      'c2.bad.example CNAME .',
      '*.c2.bad.example CNAME .',
      'evil.example.com CNAME .',
      '*.evil.example.com CNAME .',
      'xn--bcher-kva.example CNAME .',
      '*.xn--bcher-kva.example CNAME .',
    ],
  );
});

test('an RPZ zone with an origin pins it, and leaves out names too long under it', () => {
  const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(50)}.example`;
  const zone = readZone(rpzZone(['evil.example', long], { origin: 'RPZ.Firebreak.', serial: 7 }));
  assert.equal(zone.origin, 'rpz.firebreak.');
  assert.equal(zone.ttl, 300);
  assert.deepEqual(
    zone.records.slice(2).map((r) => r.owner),
    ['evil.example', '*.evil.example'],
  );
  assert.ok(long.length <= 253, 'the long name is valid on its own');
  assert.equal(readZone(rpzZone([long], { serial: 7 })).records.length, 4, 'without an origin it is kept');
});

test('an empty RPZ zone is still a valid zone', () => {
  const zone = readZone(rpzZone([], { serial: 0 }));
  assert.deepEqual(
    zone.records.map((r) => r.type),
    ['SOA', 'NS'],
  );
  assert.deepEqual(zone.comments, ['; Firebreak response policy zone: 0 blocked domains']);
});

test('an RPZ zone refuses a serial, TTL or origin a resolver would not take', () => {
  assert.throws(() => rpzZone([], { serial: -1 }), RangeError);
  assert.throws(() => rpzZone([], { serial: 4_294_967_296 }), RangeError);
  assert.throws(() => rpzZone([], { serial: 1.5 }), RangeError);
  assert.throws(() => rpzZone([], { serial: 1, ttl: 0 }), RangeError);
  assert.throws(() => rpzZone([], { serial: 1, origin: 'rpz zone' }), /RPZ origin "rpz zone" is not a domain name/);
  assert.equal(readZone(rpzZone([], { serial: 1, origin: 'rpz' })).origin, 'rpz.');
});

const AT = new Date('2024-06-17T08:30:00.000Z');

function readList(text: string): { header: string; entries: string[] } {
  assert.ok(text.endsWith('\n'));
  const [header, ...entries] = text.slice(0, -1).split('\n');
  assert.ok(
    entries.every((e) => e !== '' && !e.startsWith('#') && !/\s/.test(e)),
    text,
  );
  return { header: header!, entries };
}

test('the IP list: valid blockable addresses, IPv4 first, in numeric order, each once', () => {
  const list = readList(
    ipBlocklist(
      [
        '10.0.0.10',
        '10.0.0.9',
        '2001:DB8::1',
        '2001:db8:0:0:0:0:0:1',
        '::ffff:10.0.0.9',
        '192.0.2.1',
        'fe80::1',
        '127.0.0.1',
        '::1',
        '0.0.0.0',
        '::',
        '224.0.0.251',
        '255.255.255.255',
        '10.0.0.1/8',
        'evil.example',
        ' 198.51.100.7 ',
      ],
      AT,
    ),
  );
  assert.equal(list.header, '# Firebreak blocklist, generated 2024-06-17T08:30:00.000Z: 6 IP addresses');
  assert.deepEqual(list.entries, ['10.0.0.9', '10.0.0.10', '192.0.2.1', '198.51.100.7', '2001:db8::1', 'fe80::1']);
});

test('the domain list: normalized, valid, sorted, unique', () => {
  const list = readList(domainBlocklist(['B.example.', 'a.example', 'b.example', 'bad domain', 'x', '', 'MÜNCHEN.example'], AT));
  assert.equal(list.header, '# Firebreak blocklist, generated 2024-06-17T08:30:00.000Z: 3 domains');
  assert.deepEqual(list.entries, ['a.example', 'b.example', 'xn--mnchen-3ya.example']);
  assert.equal(readList(domainBlocklist(['one.example'], AT)).header.endsWith(': 1 domain'), true);
});

test('the URL list: http and https only, normalized, without fragments, no smuggled lines', () => {
  const list = readList(
    urlBlocklist(
      [
        'HTTPS://Evil.Example/payload.sh#top',
        'https://evil.example/payload.sh',
        'http://203.0.113.5:8080/a?b=c',
        'ftp://evil.example/x',
        'javascript:alert(1)',
        'not a url',
        'http://evil.example/a\nhttp://innocent.example/',
        'https://münchen.example/x',
      ],
      AT,
    ),
  );
  assert.equal(list.header, '# Firebreak blocklist, generated 2024-06-17T08:30:00.000Z: 3 URLs');
  assert.deepEqual(list.entries, ['http://203.0.113.5:8080/a?b=c', 'https://evil.example/payload.sh', 'https://xn--mnchen-3ya.example/x']);
});

test('an empty list is its header alone; an invalid date is refused', () => {
  assert.equal(ipBlocklist([], AT), '# Firebreak blocklist, generated 2024-06-17T08:30:00.000Z: 0 IP addresses\n');
  assert.throws(() => domainBlocklist([], new Date('not a date')), RangeError);
});
