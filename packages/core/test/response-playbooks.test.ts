/** Playbooks: the YAML format, its errors (with lines), loading a folder, and the bundled examples. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { DEFAULT_MAX_ISOLATIONS_PER_HOUR, PlaybookError, loadPlaybooks, parsePlaybook } from '../src/index.js';

const BUNDLED = fileURLToPath(new URL('../../../rules/playbooks/', import.meta.url));

const FULL = `id: contain-c2-beacon
title: Isolate a host beaconing to command and control
description: C2 on servers
enabled: true
when:
  rule_ids: [3f1c0d2e-1111-4222-8333-444455556666, 100200]
  tags: [Attack.Command-And-Control, attack.t1071*]
  min_level: high
  kinds: [sigma, correlation, ioc, behavior]
  min_incident_score: 70
  indicator_hit: true
  asset_tags: [Linux-Server]
mode: automatic
actions:
  - isolate: { allow_dns: true, allow: [10.0.0.5, { address: 10.1.0.0/16, port: 443, protocol: tcp }] }
  - kill_process: { tree: true }
  - quarantine_file
  - collect_evidence
  - block_ip
  - block_domain
  - block_hash
require_verdict: confirmed
fleet_block: false
guardrails:
  max_isolations_per_hour: 5
  protected_tags: [business-critical, PBX]
  release_after: 30m
`;

test('the full format parses into a playbook', () => {
  const playbook = parsePlaybook(FULL, 'full.yml');
  assert.deepEqual(playbook, {
    id: 'contain-c2-beacon',
    title: 'Isolate a host beaconing to command and control',
    description: 'C2 on servers',
    enabled: true,
    when: {
      ruleIds: ['3f1c0d2e-1111-4222-8333-444455556666', '100200'],
      tags: ['attack.command-and-control', 'attack.t1071*'],
      minLevel: 'high',
      kinds: ['sigma', 'correlation', 'ioc', 'behavior'],
      minIncidentScore: 70,
      indicatorHit: true,
      assetTags: ['linux-server'],
    },
    mode: 'automatic',
    actions: [
      { type: 'isolate', allowDns: true, allow: [{ address: '10.0.0.5' }, { address: '10.1.0.0/16', port: 443, protocol: 'tcp' }] },
      { type: 'kill_process', tree: true },
      { type: 'quarantine_file' },
      { type: 'collect_evidence' },
      { type: 'block_ip' },
      { type: 'block_domain' },
      { type: 'block_hash' },
    ],
    requireVerdict: true,
    fleetBlock: false,
    guardrails: { maxIsolationsPerHour: 5, protectedTags: ['business-critical', 'pbx'], releaseAfterMs: 30 * 60_000 },
    source: 'full.yml',
  });
});

test('omitted keys take their defaults: enabled, approval, fleet blocks, the isolation cap', () => {
  const playbook = parsePlaybook('id: p\ntitle: P\nwhen: { min_level: high }\nactions: [isolate, kill_process]\n', 'api');
  assert.equal(playbook.enabled, true);
  assert.equal(playbook.mode, 'approval');
  assert.equal(playbook.requireVerdict, false);
  assert.equal(playbook.fleetBlock, true);
  assert.equal(playbook.description, null);
  assert.deepEqual(playbook.actions, [
    { type: 'isolate', allowDns: false, allow: [] },
    { type: 'kill_process', tree: false },
  ]);
  assert.deepEqual(playbook.guardrails, { maxIsolationsPerHour: DEFAULT_MAX_ISOLATIONS_PER_HOUR, protectedTags: [], releaseAfterMs: null });
});

test('a lone string is a list of one; durations take s, m, h and d', () => {
  const text = (after: string) =>
    `id: p\ntitle: P\nwhen:\n  tags: attack.execution\nactions: [isolate]\nguardrails:\n  release_after: ${after}\n`;
  assert.deepEqual(parsePlaybook(text('90s'), 'a').when.tags, ['attack.execution']);
  assert.equal(parsePlaybook(text('90s'), 'a').guardrails.releaseAfterMs, 90_000);
  assert.equal(parsePlaybook(text('4h'), 'a').guardrails.releaseAfterMs, 4 * 3_600_000);
  assert.equal(parsePlaybook(text('1d'), 'a').guardrails.releaseAfterMs, 86_400_000);
});

const BASE = ['id: p', 'title: P', 'when:', '  min_level: high', 'actions:', '  - isolate'];

/** The base playbook with lines replaced (1-based line → new text) or appended. */
function variant(changes: Record<number, string>, extra: string[] = []): string {
  return [...BASE.map((line, i) => changes[i + 1] ?? line), ...extra].join('\n') + '\n';
}

const ERRORS: { name: string; text: string; line: number | null; reason: RegExp }[] = [
  { name: 'unknown top-level key', text: variant({}, ['modes: automatic']), line: 7, reason: /^modes: unknown key \(expected id, title/ },
  {
    name: 'unknown condition',
    text: variant({ 4: '  level: high' }),
    line: 4,
    reason: /^when\.level: unknown key \(expected rule_ids, tags/,
  },
  { name: 'bad id', text: variant({ 1: 'id: Contain C2' }), line: 1, reason: /^id: "Contain C2" is not a playbook id/ },
  { name: 'missing title', text: variant({ 2: 'enabled: true' }), line: 1, reason: /^title: is required$/ },
  {
    name: 'unknown level',
    text: variant({ 4: '  min_level: severe' }),
    line: 4,
    reason: /^when\.min_level: unknown value "severe" \(expected informational, low/,
  },
  {
    name: 'score out of range',
    text: variant({ 4: '  min_incident_score: 170' }),
    line: 4,
    reason: /must be a number from 0 to 100, not 170/,
  },
  { name: 'score as text', text: variant({ 4: '  min_incident_score: high' }), line: 4, reason: /not "high"/ },
  { name: 'unknown kind', text: variant({ 4: '  kinds: [sigma, yara]' }), line: 4, reason: /^when\.kinds\[1\]: unknown value "yara"/ },
  { name: 'indicator_hit as text', text: variant({ 4: '  indicator_hit: yes' }), line: 4, reason: /must be true or false, not "yes"/ },
  { name: 'empty list', text: variant({ 4: '  tags: []' }), line: 4, reason: /an empty list matches nothing/ },
  {
    name: 'tag that is not text',
    text: variant({ 4: '  tags: [attack.execution, 12]' }),
    line: 4,
    reason: /^when\.tags\[1\]: must be a list of strings, not 12/,
  },
  {
    name: 'no conditions',
    text: variant({ 4: '  {}' }).replace('when:\n  {}', 'when: {}'),
    line: 3,
    reason: /when needs at least one condition/,
  },
  { name: 'no when at all', text: 'id: p\ntitle: P\nactions: [isolate]\n', line: 1, reason: /when is required/ },
  {
    name: 'unknown action',
    text: variant({}, ['  - reboot']),
    line: 7,
    reason: /^actions\[1\]: unknown action "reboot" \(expected isolate, kill_process/,
  },
  { name: 'action listed twice', text: variant({}, ['  - isolate']), line: 7, reason: /^actions\[1\]: isolate is listed twice/ },
  { name: 'empty actions', text: variant({ 5: 'actions: []', 6: '' }), line: 5, reason: /actions must be a non-empty list/ },
  {
    name: 'unknown option',
    text: variant({}, ['  - kill_process: { tree: true, signal: 9 }']),
    line: 7,
    reason: /^actions\[1\]\.kill_process\.signal: unknown key \(expected tree\)/,
  },
  {
    name: 'options on an action without any',
    text: variant({}, ['  - block_ip: { ttl: 60 }']),
    line: 7,
    reason: /^actions\[1\]\.block_ip\.ttl: takes no options/,
  },
  {
    name: 'two actions in one item',
    text: variant({}, ['  - { block_ip: null, block_hash: null }']),
    line: 7,
    reason: /an action is a name/,
  },
  {
    name: 'allowance that is not an address',
    text: variant({ 6: '  - isolate:' }, ['      allow:', '        - 10.0.0.5', '        - address: pbx.example.com']),
    line: 9,
    reason: /^actions\[0\]\.isolate\.allow\[1\]\.address: "pbx\.example\.com" is not an IP address or network/,
  },
  {
    name: 'bad protocol',
    text: variant({ 6: '  - isolate: { allow: [{ address: 10.0.0.5, protocol: icmp }] }' }),
    line: 6,
    reason: /protocol: unknown value "icmp"/,
  },
  { name: 'bad mode', text: variant({}, ['mode: auto']), line: 7, reason: /^mode: unknown value "auto" \(expected automatic, approval\)/ },
  {
    name: 'bad require_verdict',
    text: variant({}, ['require_verdict: refuted']),
    line: 7,
    reason: /^require_verdict: unknown value "refuted"/,
  },
  {
    name: 'bad duration',
    text: variant({}, ['guardrails:', '  release_after: 30 minutes']),
    line: 8,
    reason: /^guardrails\.release_after: "30 minutes" is not a duration/,
  },
  {
    name: 'negative cap',
    text: variant({}, ['guardrails:', '  max_isolations_per_hour: -1']),
    line: 8,
    reason: /must be an integer from 0/,
  },
  { name: 'fractional cap', text: variant({}, ['guardrails:', '  max_isolations_per_hour: 2.5']), line: 8, reason: /must be an integer/ },
  {
    name: 'unknown guardrail',
    text: variant({}, ['guardrails:', '  max_kills: 3']),
    line: 8,
    reason: /^guardrails\.max_kills: unknown key/,
  },
  { name: 'YAML syntax error', text: variant({ 4: '  min_level: [high' }), line: 5, reason: /^YAML: / },
  { name: 'duplicate key', text: variant({}, ['title: Q']), line: 7, reason: /^YAML: Map keys must be unique/ },
  { name: 'not a map', text: '- isolate\n', line: 1, reason: /a playbook is a map of keys/ },
  { name: 'empty file', text: '# nothing yet\n', line: null, reason: /a playbook is a map of keys/ },
];

for (const { name, text, line, reason } of ERRORS) {
  test(`parse error: ${name}`, () => {
    assert.throws(
      () => parsePlaybook(text, 'playbooks/p.yml'),
      (error: unknown) => {
        assert.ok(error instanceof PlaybookError, String(error));
        assert.equal(error.source, 'playbooks/p.yml');
        assert.match(error.reason, reason);
        assert.equal(error.line, line, `${error.message}\n---\n${text}`);
        assert.equal(error.message, `playbooks/p.yml${line === null ? '' : `:${line}`}: ${error.reason}`);
        return true;
      },
    );
  });
}

test('the base of the error cases is itself valid', () => {
  assert.equal(parsePlaybook(variant({}), 'p.yml').id, 'p');
});

test('a folder loads its good playbooks and reports the bad files and duplicate ids', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-playbooks-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a-good.yml'), variant({ 1: 'id: first' }));
  writeFileSync(join(dir, 'b-bad.yaml'), variant({ 1: 'id: second', 4: '  min_level: extreme' }));
  writeFileSync(join(dir, 'c-same-id.yml'), variant({ 1: 'id: first', 2: 'title: Another' }));
  writeFileSync(join(dir, 'D-OTHER.YAML'), variant({ 1: 'id: other' }));
  writeFileSync(join(dir, 'notes.txt'), 'not a playbook');
  mkdirSync(join(dir, 'drafts.yml'));
  mkdirSync(join(dir, 'old'));
  writeFileSync(join(dir, 'old', 'old.yml'), variant({ 1: 'id: old' }));

  const { playbooks, errors } = loadPlaybooks(dir);
  assert.deepEqual(
    playbooks.map((p) => [p.id, p.title, p.source]),
    [
      ['other', 'P', join(dir, 'D-OTHER.YAML')],
      ['first', 'P', join(dir, 'a-good.yml')],
    ],
  );
  assert.deepEqual(
    errors.map((e) => [e.source, e.line]),
    [
      [join(dir, 'b-bad.yaml'), 4],
      [join(dir, 'c-same-id.yml'), null],
    ],
  );
  assert.match(errors[0]!.reason, /min_level: unknown value "extreme"/);
  assert.equal(errors[1]!.reason, `id "first" is already the id of ${join(dir, 'a-good.yml')}`);
});

test('a folder that cannot be read is an error naming it', () => {
  const missing = join(tmpdir(), `fb-no-such-folder-${process.pid}`);
  assert.throws(
    () => loadPlaybooks(missing),
    (e: unknown) => e instanceof PlaybookError && e.source === missing && /ENOENT/.test(e.reason),
  );
});

test('the bundled example playbooks load without errors', () => {
  const { playbooks, errors } = loadPlaybooks(BUNDLED);
  assert.deepEqual(errors, []);
  const byId = new Map(playbooks.map((p) => [p.id, p]));
  assert.deepEqual([...byId.keys()].sort(), ['contain-c2', 'evidence-on-critical']);
  const c2 = byId.get('contain-c2')!;
  assert.equal(c2.mode, 'automatic');
  assert.ok(c2.actions.some((a) => a.type === 'isolate'));
  assert.deepEqual(c2.guardrails.protectedTags, ['business-critical', 'pbx']);
  assert.equal(c2.guardrails.releaseAfterMs, 30 * 60_000);
  const critical = byId.get('evidence-on-critical')!;
  assert.equal(critical.mode, 'approval');
  assert.deepEqual(
    critical.actions.map((a) => a.type),
    ['collect_evidence', 'isolate'],
  );
});
