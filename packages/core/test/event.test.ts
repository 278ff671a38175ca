/** The event model's descriptive properties: what an event is, where it comes from, when. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { objectEvent } from '@firebreak/sigma';
import { FirebreakEvent, type EventHints } from '../src/index.js';

const SYSMON = 'Microsoft-Windows-Sysmon/Operational';
const event = (fields: Record<string, unknown>, hints?: EventHints): FirebreakEvent =>
  new FirebreakEvent(objectEvent(fields), { file: 'f.json', format: 'json', origin: 'f.json:1' }, () => fields, hints);

test('category and layer come from the log source mappings and the channel', () => {
  const cases: [Record<string, unknown>, string | undefined, string][] = [
    [{ Channel: SYSMON, EventID: 1 }, 'process_creation', 'endpoint'],
    [{ Channel: SYSMON, EventID: 3 }, 'network_connection', 'network'],
    [{ Channel: SYSMON, EventID: 22 }, 'dns_query', 'network'],
    [{ Channel: 'Security', EventID: 4688 }, 'process_creation', 'endpoint'],
    [{ Channel: 'Security', EventID: 4624 }, undefined, 'identity'],
    [{ Channel: 'Security', EventID: 5156 }, 'network_connection', 'network'],
    [{ _source: 'auditd', type: ['SYSCALL', 'EXECVE'] }, undefined, 'server'],
    [{ Image: 'x' }, undefined, 'endpoint'],
  ];
  for (const [fields, category, layer] of cases) {
    const e = event(fields);
    assert.equal(e.category, category, JSON.stringify(fields));
    assert.equal(e.layer, layer, JSON.stringify(fields));
  }
  assert.deepEqual(event({ Channel: 'Security', EventID: 4624 }).logsource, { product: 'windows', service: 'security' });
});

test('host, channel, ids and time: from the fields, a repeated name by its first value, a reader hint first', () => {
  const e = event({
    Computer: 'WS01',
    Channel: ['System', 'System'],
    EventID: '104',
    EventRecordID: 227693,
    TimeCreated_SystemTime: '2019-02-13T18:01:41.593Z',
  });
  assert.equal(e.host, 'WS01');
  assert.equal(e.channel, 'System');
  assert.equal(e.eventId, 104);
  assert.equal(e.recordId, 227693);
  assert.equal(e.timestamp, Date.UTC(2019, 1, 13, 18, 1, 41, 593));
  const hinted = event({ node: 'x' }, { host: 'srv1', channel: 'auditd', timestamp: 5, recordId: 9, layer: 'server' });
  assert.deepEqual([hinted.host, hinted.channel, hinted.timestamp, hinted.recordId, hinted.layer], ['srv1', 'auditd', 5, 9, 'server']);
  assert.equal(event({ 'host.name': 'ecs-host' }).host, 'ecs-host');
  assert.equal(event({ EventID: 'abc', EventRecordID: 1.5 }).eventId, undefined);
});

test('plainFields has no prototype: a field named __proto__ is a field', () => {
  const fields = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
  const plain = event(fields).plainFields();
  assert.equal(Object.getPrototypeOf(plain), null);
  assert.deepEqual(Object.keys(plain), ['__proto__', 'a']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
