/**
 * Playbooks: which alerts get which response. One YAML file per playbook (*.yml or *.yaml), in the
 * spirit of a Wazuh active response or an Elastic rule action, but with the conditions and the
 * guardrails in the same place:
 *
 * ```yaml
 * id: contain-c2-beacon          # required; unique; lower-case letters, digits and "-"
 * title: Isolate a host beaconing to command and control    # required
 * description: …                 # optional, free text
 * enabled: true                  # default true
 * when:                          # at least one condition; every condition given must hold
 *   rule_ids: [3f1c…, 100200]    # the alert's rule id is one of these
 *   tags: [attack.command-and-control, attack.t1071*]   # the alert has one of these tags (case-insensitive, * = anything)
 *   min_level: high              # informational < low < medium < high < critical
 *   kinds: [sigma, correlation, ioc, behavior]          # the alert's kind is one of these
 *   min_incident_score: 70       # the alert's incident scores at least this (0..100)
 *   indicator_hit: true          # the alert is (true) or is not (false) an indicator (IOC) hit
 *   asset_tags: [linux-server]   # the host's agent has one of these tags
 * mode: automatic                # automatic, or approval (the default: automatic responses are opted into)
 * actions:                       # carried out in this order
 *   - collect_evidence           # process tree, sockets, executable, persistence, auth log of the alert's process
 *   - isolate                    # or with options: isolate: { allow_dns: true, allow: [10.0.0.5, { address: 10.1.0.0/16, port: 443, protocol: tcp }] }
 *   - kill_process: { tree: true }   # the alert's process (ProcessId); tree: its descendants too
 *   - quarantine_file            # the alert's file: TargetFilename for file events, else the process's Image
 *   - block_ip                   # the event's DestinationIp
 *   - block_domain               # the event's DestinationHostname / QueryName
 *   - block_hash                 # the SHA256 in the event's Hashes (agents kill matching processes on sight)
 * require_verdict: confirmed     # disruptive actions (isolate, kill_process, quarantine_file) wait for a
 *                                #   confirmed forensic verdict; omitted: act at once, verify afterwards
 * fleet_block: true              # blocks also go to every agent (default true): at once for an indicator hit,
 *                                #   else once the forensic verdict confirms the indicator
 * guardrails:
 *   max_isolations_per_hour: 5   # automatic isolations in the last hour (whole fleet) beyond which isolation
 *                                #   needs approval; default 10; 0: isolation always needs approval
 *   protected_tags: [business-critical, pbx]   # hosts with these agent tags are never isolated, by any
 *                                #   playbook: they get surgical containment (block the destination, kill the
 *                                #   process tree, quarantine the file) and keep serving
 *   release_after: 30m           # an isolation made before verification is released when the verdict has not
 *                                #   confirmed within this time (s, m, h or d)
 * ```
 *
 * Unknown keys and wrong types are errors naming the file, the line and the key: a typo must not
 * silently turn a guardrail off.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, isMap, isNode, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { LEVELS, levelRank, type DetectionLevel } from '../hunt/detection.js';
import { DISRUPTIVE_ACTIONS, type ActionParams, type ActionType } from './protocol.js';
import {
  isSystemPath,
  normalizeDomain,
  normalizeIp,
  positiveInteger,
  sha256FromHashes,
  shortHash,
  textField,
  unblockableIpReason,
} from './indicators.js';

export const ALERT_KINDS = ['sigma', 'correlation', 'ioc', 'behavior'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** The actions a playbook may name (release, restore_file, unblock and sync_blocks are the server's own). */
export const PLAYBOOK_ACTIONS = [
  'isolate',
  'kill_process',
  'quarantine_file',
  'collect_evidence',
  'block_ip',
  'block_domain',
  'block_hash',
] as const;
export type PlaybookActionType = (typeof PLAYBOOK_ACTIONS)[number];

export type ResponseMode = 'automatic' | 'approval';

/** What an isolated host may still reach besides the server. */
export type IsolationAllowance = NonNullable<ActionParams['isolate']['allow']>[number];

export type PlaybookAction =
  | { type: 'isolate'; allowDns: boolean; allow: IsolationAllowance[] }
  | { type: 'kill_process'; tree: boolean }
  | { type: Exclude<PlaybookActionType, 'isolate' | 'kill_process'> };

/** The `when` block; an absent condition always holds. Tags are lower-case. */
export interface PlaybookConditions {
  ruleIds?: string[];
  tags?: string[];
  minLevel?: DetectionLevel;
  kinds?: AlertKind[];
  minIncidentScore?: number;
  indicatorHit?: boolean;
  assetTags?: string[];
}

export interface PlaybookGuardrails {
  maxIsolationsPerHour: number;
  /** Lower-case. */
  protectedTags: string[];
  releaseAfterMs: number | null;
}

export interface Playbook {
  id: string;
  title: string;
  description: string | null;
  enabled: boolean;
  when: PlaybookConditions;
  mode: ResponseMode;
  actions: PlaybookAction[];
  /** Disruptive actions wait for a confirmed forensic verdict. */
  requireVerdict: boolean;
  fleetBlock: boolean;
  guardrails: PlaybookGuardrails;
  /** Where the playbook came from (a file path, or `api`). */
  source: string;
}

export const DEFAULT_MAX_ISOLATIONS_PER_HOUR = 10;

export class PlaybookError extends Error {
  override name = 'PlaybookError';
  constructor(
    readonly source: string,
    readonly line: number | null,
    readonly reason: string,
  ) {
    super(`${source}${line === null ? '' : `:${line}`}: ${reason}`);
  }
}

type Path = (string | number)[];

const TOP_KEYS = ['id', 'title', 'description', 'enabled', 'when', 'mode', 'actions', 'require_verdict', 'fleet_block', 'guardrails'];
const WHEN_KEYS = ['rule_ids', 'tags', 'min_level', 'kinds', 'min_incident_score', 'indicator_hit', 'asset_tags'];
const GUARDRAIL_KEYS = ['max_isolations_per_hour', 'protected_tags', 'release_after'];
const ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses one playbook; `source` names it in errors (a file path, or `api`). */
export function parsePlaybook(text: string, source: string): Playbook {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  const reader = new YamlReader(doc, lineCounter, source);
  const [error] = doc.errors;
  if (error) throw new PlaybookError(source, error.linePos?.[0].line ?? null, `YAML: ${error.message.split(/ at line \d+|\n/)[0]}`);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new PlaybookError(source, null, `YAML: ${(e as Error).message}`);
  }
  return readPlaybook(reader.map(raw, []), reader);
}

/**
 * Loads every *.yml and *.yaml file of `dir` (not its subfolders), in name order. A bad file is
 * reported in `errors` and the others load; a playbook whose id an earlier file already took is
 * reported and left out. A folder that cannot be read throws.
 */
export function loadPlaybooks(dir: string): { playbooks: Playbook[]; errors: PlaybookError[] } {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && /\.ya?ml$/i.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (e) {
    throw new PlaybookError(dir, null, `cannot read the playbook folder: ${(e as Error).message}`);
  }
  const playbooks: Playbook[] = [];
  const errors: PlaybookError[] = [];
  const sources = new Map<string, string>();
  for (const name of names) {
    const path = join(dir, name);
    try {
      const playbook = parsePlaybook(readFileSync(path, 'utf8'), path);
      const first = sources.get(playbook.id);
      if (first !== undefined) throw new PlaybookError(path, null, `id "${playbook.id}" is already the id of ${first}`);
      sources.set(playbook.id, path);
      playbooks.push(playbook);
    } catch (e) {
      errors.push(e instanceof PlaybookError ? e : new PlaybookError(path, null, (e as Error).message));
    }
  }
  return { playbooks, errors };
}

function readPlaybook(raw: Record<string, unknown>, reader: YamlReader): Playbook {
  reader.keys(raw, [], TOP_KEYS);
  const id = reader.text(raw.id, ['id']);
  if (!ID.test(id)) reader.fail(['id'], `"${id}" is not a playbook id (lower-case letters, digits and "-", at most 64)`);
  const mode = raw.mode === undefined ? 'approval' : reader.oneOf(raw.mode, ['mode'], ['automatic', 'approval']);
  const requireVerdict =
    raw.require_verdict === undefined ? undefined : reader.oneOf(raw.require_verdict, ['require_verdict'], ['confirmed']);
  return {
    id,
    title: reader.text(raw.title, ['title']),
    description: raw.description === undefined ? null : reader.text(raw.description, ['description']),
    enabled: raw.enabled === undefined ? true : reader.boolean(raw.enabled, ['enabled']),
    when: readConditions(raw.when, reader),
    mode: mode as ResponseMode,
    actions: readActions(raw.actions, reader),
    requireVerdict: requireVerdict === 'confirmed',
    fleetBlock: raw.fleet_block === undefined ? true : reader.boolean(raw.fleet_block, ['fleet_block']),
    guardrails: readGuardrails(raw.guardrails, reader),
    source: reader.source,
  };
}

function readConditions(value: unknown, reader: YamlReader): PlaybookConditions {
  if (value === undefined) reader.fail([], 'when is required: a playbook without conditions would answer every alert');
  const when = reader.map(value, ['when']);
  reader.keys(when, ['when'], WHEN_KEYS);
  if (Object.keys(when).length === 0) reader.fail(['when'], 'when needs at least one condition');
  const at = (key: string): Path => ['when', key];
  const conditions: PlaybookConditions = {};
  if (when.rule_ids !== undefined) conditions.ruleIds = reader.list(when.rule_ids, at('rule_ids'), { numbers: true });
  if (when.tags !== undefined) conditions.tags = reader.list(when.tags, at('tags')).map((tag) => tag.toLowerCase());
  if (when.min_level !== undefined) conditions.minLevel = reader.oneOf(when.min_level, at('min_level'), LEVELS);
  if (when.kinds !== undefined) {
    const kinds = reader.list(when.kinds, at('kinds'));
    kinds.forEach((kind, i) => reader.oneOf(kind, ['when', 'kinds', i], ALERT_KINDS));
    conditions.kinds = kinds as AlertKind[];
  }
  if (when.min_incident_score !== undefined)
    conditions.minIncidentScore = reader.number(when.min_incident_score, at('min_incident_score'), 0, 100);
  if (when.indicator_hit !== undefined) conditions.indicatorHit = reader.boolean(when.indicator_hit, at('indicator_hit'));
  if (when.asset_tags !== undefined) conditions.assetTags = reader.list(when.asset_tags, at('asset_tags')).map((tag) => tag.toLowerCase());
  return conditions;
}

function readActions(value: unknown, reader: YamlReader): PlaybookAction[] {
  if (value === undefined) reader.fail([], 'actions is required');
  if (!Array.isArray(value) || value.length === 0) reader.fail(['actions'], 'actions must be a non-empty list');
  const actions = value.map((item, i) => readAction(item, ['actions', i], reader));
  actions.forEach((action, i) => {
    if (actions.findIndex((other) => other.type === action.type) !== i) reader.fail(['actions', i], `${action.type} is listed twice`);
  });
  return actions;
}

/** An action is its name (`- isolate`) or a map of its name to its options (`- kill_process: { tree: true }`). */
function readAction(item: unknown, path: Path, reader: YamlReader): PlaybookAction {
  let name: string;
  let options: Record<string, unknown> = {};
  if (typeof item === 'string') name = item;
  else if (item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length === 1) {
    name = Object.keys(item)[0]!;
    const value = (item as Record<string, unknown>)[name];
    if (value !== null) options = reader.map(value, [...path, name]);
  } else return reader.fail(path, 'an action is a name (isolate) or one name with its options (kill_process: { tree: true })');
  const type = reader.oneOf(name, path, PLAYBOOK_ACTIONS, 'action');
  const at = (key: string): Path => [...path, name, key];
  switch (type) {
    case 'isolate':
      reader.keys(options, [...path, name], ['allow_dns', 'allow']);
      return {
        type,
        allowDns: options.allow_dns === undefined ? false : reader.boolean(options.allow_dns, at('allow_dns')),
        allow: options.allow === undefined ? [] : readAllowances(options.allow, at('allow'), reader),
      };
    case 'kill_process':
      reader.keys(options, [...path, name], ['tree']);
      return { type, tree: options.tree === undefined ? false : reader.boolean(options.tree, at('tree')) };
    default:
      reader.keys(options, [...path, name], []);
      return { type };
  }
}

/** Destinations an isolated host keeps: `10.0.0.5`, `10.1.0.0/16`, or `{ address, port, protocol }`. */
function readAllowances(value: unknown, path: Path, reader: YamlReader): IsolationAllowance[] {
  if (!Array.isArray(value)) reader.fail(path, 'allow must be a list of addresses');
  return value.map((item, i) => {
    const at: Path = [...path, i];
    const entry = typeof item === 'string' ? { address: item } : reader.map(item, at);
    reader.keys(entry, at, ['address', 'port', 'protocol']);
    const address = reader.text(entry.address, [...at, 'address']);
    if (!isAddressOrNetwork(address)) reader.fail([...at, 'address'], `"${address}" is not an IP address or network (10.0.0.0/8)`);
    const allowance: IsolationAllowance = { address };
    if (entry.port !== undefined) allowance.port = reader.number(entry.port, [...at, 'port'], 1, 65535, true);
    if (entry.protocol !== undefined) allowance.protocol = reader.oneOf(entry.protocol, [...at, 'protocol'], ['tcp', 'udp'] as const);
    return allowance;
  });
}

function isAddressOrNetwork(text: string): boolean {
  const [address, prefix, extra] = text.split('/');
  const ip = normalizeIp(address ?? '');
  if (ip === null || extra !== undefined) return false;
  if (prefix === undefined) return true;
  const bits = ip.includes(':') ? 128 : 32;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= bits;
}

function readGuardrails(value: unknown, reader: YamlReader): PlaybookGuardrails {
  const guardrails: PlaybookGuardrails = { maxIsolationsPerHour: DEFAULT_MAX_ISOLATIONS_PER_HOUR, protectedTags: [], releaseAfterMs: null };
  if (value === undefined) return guardrails;
  const raw = reader.map(value, ['guardrails']);
  reader.keys(raw, ['guardrails'], GUARDRAIL_KEYS);
  const at = (key: string): Path => ['guardrails', key];
  if (raw.max_isolations_per_hour !== undefined)
    guardrails.maxIsolationsPerHour = reader.number(
      raw.max_isolations_per_hour,
      at('max_isolations_per_hour'),
      0,
      Number.MAX_SAFE_INTEGER,
      true,
    );
  if (raw.protected_tags !== undefined)
    guardrails.protectedTags = reader.list(raw.protected_tags, at('protected_tags')).map((t) => t.toLowerCase());
  if (raw.release_after !== undefined) guardrails.releaseAfterMs = readDuration(raw.release_after, at('release_after'), reader);
  return guardrails;
}

function readDuration(value: unknown, path: Path, reader: YamlReader): number {
  const match = typeof value === 'string' ? /^(\d+)\s*([smhd])$/.exec(value.trim()) : null;
  const ms = match ? Number(match[1]) * DURATION_UNITS[match[2]!]! : 0;
  if (!match || ms <= 0 || !Number.isSafeInteger(ms)) reader.fail(path, `"${String(value)}" is not a duration such as 90s, 30m, 4h or 1d`);
  return ms;
}

/** Reads plain values out of a parsed document, failing with the line of the key at fault. */
class YamlReader {
  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
    readonly source: string,
  ) {}

  fail(path: Path, reason: string): never {
    const where = pathText(path);
    throw new PlaybookError(this.source, this.line(path), where === '' ? reason : `${where}: ${reason}`);
  }

  /** The line of the key (or list item) at `path`; for a missing one, that of its nearest present parent. */
  line(path: Path): number | null {
    for (let depth = path.length; depth > 0; depth--) {
      const parent = depth === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, depth - 1), true);
      const last = path[depth - 1];
      let node: unknown;
      if (isMap(parent)) node = parent.items.find((pair) => isScalar(pair.key) && pair.key.value === last)?.key;
      else if (isSeq(parent) && typeof last === 'number') node = parent.items[last];
      if (isNode(node) && node.range) return this.lineCounter.linePos(node.range[0]).line;
    }
    const root = this.doc.contents;
    return isNode(root) && root.range ? this.lineCounter.linePos(root.range[0]).line : null;
  }

  map(value: unknown, path: Path): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      this.fail(path, path.length === 0 ? 'a playbook is a map of keys (id, title, when, actions…)' : 'must be a map of keys to values');
    return value as Record<string, unknown>;
  }

  keys(map: Record<string, unknown>, path: Path, allowed: readonly string[]): void {
    for (const key of Object.keys(map))
      if (!allowed.includes(key))
        this.fail([...path, key], allowed.length === 0 ? 'takes no options' : `unknown key (expected ${allowed.join(', ')})`);
  }

  text(value: unknown, path: Path): string {
    if (value === undefined) this.fail(path, 'is required');
    if (typeof value !== 'string' || value.trim() === '') this.fail(path, 'must be a non-empty string');
    return value.trim();
  }

  boolean(value: unknown, path: Path): boolean {
    if (typeof value !== 'boolean') this.fail(path, `must be true or false, not ${JSON.stringify(value)}`);
    return value;
  }

  number(value: unknown, path: Path, min: number, max: number, integer = false): number {
    const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max && (!integer || Number.isInteger(value));
    if (!ok) this.fail(path, `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, not ${JSON.stringify(value)}`);
    return value as number;
  }

  oneOf<T extends string>(value: unknown, path: Path, allowed: readonly T[], what = 'value'): T {
    if (typeof value !== 'string' || !allowed.includes(value as T))
      this.fail(path, `unknown ${what} ${JSON.stringify(value)} (expected ${allowed.join(', ')})`);
    return value as T;
  }

  /** A non-empty list of strings; a lone string is a list of one; `numbers` takes numeric ids (Wazuh's 100200) as text. */
  list(value: unknown, path: Path, options: { numbers?: boolean } = {}): string[] {
    const items = Array.isArray(value) ? value : [value];
    if (items.length === 0) this.fail(path, 'an empty list matches nothing: leave the key out instead');
    return items.map((item, i) => {
      const at = Array.isArray(value) ? [...path, i] : path;
      if (options.numbers && typeof item === 'number' && Number.isSafeInteger(item)) return String(item);
      if (typeof item !== 'string' || item.trim() === '') this.fail(at, `must be a list of strings, not ${JSON.stringify(item)}`);
      return item.trim();
    });
  }
}

/** `when.tags[2]`, as a user finds it in the file. */
function pathText(path: Path): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
}

// ---------------------------------------------------------------------------------------------
// Planning: which actions an alert gets.

/** What a response is planned for: an alert, the event that raised it, its incident and its host's agent. */
export interface ResponseTrigger {
  alert: {
    id: number;
    ruleId: string;
    level: string;
    kind: string;
    tags: string[];
    computer: string | null;
    matched: Record<string, unknown>;
  };
  /** The evidence event's flat fields under Sysmon's names (ProcessId, Image, Hashes, DestinationIp…). */
  fields: Record<string, unknown>;
  incident: { id: number; score: number } | null;
  agent: { id: string; hostname: string; tags: string[]; isolated: boolean } | null;
  indicatorHit: boolean;
}

export interface ResponseGuard {
  /** Automatic isolations across the fleet in the last hour. */
  isolationsInLastHour: number;
  /** Addresses (and names) agents reach the server by: never blocked. */
  serverAddresses: string[];
}

interface PlannedActionOf<T extends ActionType> {
  playbookId: string;
  type: T;
  params: ActionParams[T];
  mode: ResponseMode;
  requireVerdict: boolean;
  /** Which playbook, which conditions, and any guardrail that changed the action. */
  reason: string;
  /** An isolation made before verification: released after this long unless the verdict confirms. */
  releaseAfterMs?: number;
  /** A block meant for every agent, not only the alert's host. */
  fleet: boolean;
}

export type PlannedAction = { [T in ActionType]: PlannedActionOf<T> }[ActionType];

export interface SkippedAction {
  playbookId: string;
  type: ActionType;
  reason: string;
}

export interface ResponsePlan {
  actions: PlannedAction[];
  skipped: SkippedAction[];
}

/**
 * The conditions of `playbook` that `trigger` meets, as text for the action's reason, or null
 * when one fails (or the playbook is disabled).
 */
export function matchPlaybook(playbook: Playbook, trigger: ResponseTrigger): string[] | null {
  if (!playbook.enabled) return null;
  const { when } = playbook;
  const { alert } = trigger;
  const met: string[] = [];
  const check = (condition: unknown, text: () => string | null): boolean => {
    if (condition === undefined) return true;
    const description = text();
    if (description !== null) met.push(description);
    return description !== null;
  };
  const ok =
    check(when.ruleIds, () => (when.ruleIds!.includes(alert.ruleId) ? `rule ${alert.ruleId}` : null)) &&
    check(when.tags, () => matchingTag(when.tags!, alert.tags)) &&
    check(when.minLevel, () => (levelRank(alert.level) >= levelRank(when.minLevel) ? `level ${alert.level} ≥ ${when.minLevel}` : null)) &&
    check(when.kinds, () => ((when.kinds as string[]).includes(alert.kind) ? `kind ${alert.kind}` : null)) &&
    check(when.minIncidentScore, () =>
      trigger.incident && trigger.incident.score >= when.minIncidentScore!
        ? `incident ${trigger.incident.id} score ${trigger.incident.score} ≥ ${when.minIncidentScore}`
        : null,
    ) &&
    check(when.indicatorHit, () =>
      trigger.indicatorHit === when.indicatorHit ? (when.indicatorHit ? 'indicator hit' : 'no indicator hit') : null,
    ) &&
    check(when.assetTags, () => {
      const tag = trigger.agent?.tags.find((t) => when.assetTags!.includes(t.toLowerCase()));
      return tag === undefined ? null : `host tagged ${tag}`;
    });
  return ok ? met : null;
}

function matchingTag(patterns: string[], tags: string[]): string | null {
  for (const pattern of patterns) {
    const regex = new RegExp(`^${pattern.split('*').map(escapeRegex).join('.*')}$`, 'i');
    const tag = tags.find((t) => regex.test(t));
    if (tag !== undefined) return pattern === tag.toLowerCase() ? `tag ${tag}` : `tag ${tag} (${pattern})`;
  }
  return null;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The actions the matching playbooks ask for, with their parameters taken from the event. An
 * action that cannot be carried out (no agent, a missing or unsafe parameter) is in `skipped`
 * with the reason; guardrails change actions rather than drop them, and say so in the reason.
 * The same action (type, parameters, scope) asked for by several playbooks is planned once, in
 * its most immediate form (automatic before approval, not waiting before waiting for a verdict).
 */
export function planResponse(playbooks: Playbook[], trigger: ResponseTrigger, guard: ResponseGuard): ResponsePlan {
  const plan: ResponsePlan = { actions: [], skipped: [] };
  const protectedTags = new Set(playbooks.filter((p) => p.enabled).flatMap((p) => p.guardrails.protectedTags));
  for (const playbook of playbooks) {
    const met = matchPlaybook(playbook, trigger);
    if (met === null) continue;
    const planner = new StepPlanner(playbook, trigger, guard, protectedTags, `playbook ${playbook.id} (${met.join(', ')})`, plan);
    for (const action of playbook.actions) planner.plan(action);
  }
  plan.actions = mergeActions(plan.actions);
  return plan;
}

type Built<T extends ActionType> = { params: ActionParams[T]; what: string } | { missing: string };

/** Plans the actions of one matching playbook. */
class StepPlanner {
  constructor(
    private readonly playbook: Playbook,
    private readonly trigger: ResponseTrigger,
    private readonly guard: ResponseGuard,
    private readonly protectedTags: Set<string>,
    private readonly why: string,
    private readonly out: ResponsePlan,
  ) {}

  plan(action: PlaybookAction): void {
    switch (action.type) {
      case 'isolate':
        return this.isolate(action.allowDns, action.allow);
      case 'kill_process':
        return this.host('kill_process', killParams(this.trigger.fields, action.tree));
      case 'quarantine_file':
        return this.host('quarantine_file', quarantineParams(this.trigger.fields));
      case 'collect_evidence':
        return this.host('collect_evidence', evidenceParams(this.trigger.fields));
      case 'block_ip':
        return this.block('block_ip', ipBlockParams(this.trigger.fields, this.guard.serverAddresses));
      case 'block_domain':
        return this.block('block_domain', domainBlockParams(this.trigger.fields, this.guard.serverAddresses));
      case 'block_hash':
        return this.block('block_hash', hashBlockParams(this.trigger.fields));
    }
  }

  private isolate(allowDns: boolean, allow: IsolationAllowance[]): void {
    const agent = this.trigger.agent;
    if (!agent) return this.skip('isolate', this.noAgent());
    const protectedTag = agent.tags.find((tag) => this.protectedTags.has(tag.toLowerCase()));
    if (protectedTag !== undefined) return this.surgical(agent.hostname, protectedTag);
    if (agent.isolated) return this.skip('isolate', `${agent.hostname} is already isolated`);
    const notes: string[] = [];
    let mode = this.playbook.mode;
    const cap = this.playbook.guardrails.maxIsolationsPerHour;
    if (mode === 'automatic' && this.guard.isolationsInLastHour >= cap) {
      mode = 'approval';
      notes.push(`${this.guard.isolationsInLastHour} automatic isolations in the last hour reach the cap of ${cap}: needs approval`);
    }
    const params: ActionParams['isolate'] = allow.length > 0 ? { allowDns, allow } : { allowDns };
    const action = this.action('isolate', params, `isolate ${agent.hostname}`, notes, mode);
    const releaseAfterMs = this.playbook.guardrails.releaseAfterMs;
    if (releaseAfterMs !== null && !action.requireVerdict) {
      action.releaseAfterMs = releaseAfterMs;
      action.reason += `; released after ${duration(releaseAfterMs)} unless the verdict confirms`;
    }
    this.out.actions.push(action);
  }

  /** A protected host keeps serving: its malicious destination, process and file are dealt with instead. */
  private surgical(hostname: string, tag: string): void {
    const note = `instead of isolating ${hostname}, tagged ${tag} (protected): surgical containment`;
    const { fields } = this.trigger;
    this.host('block_ip', ipBlockParams(fields, this.guard.serverAddresses), note);
    this.host('kill_process', killParams(fields, true), note);
    this.host('quarantine_file', quarantineParams(fields), note);
  }

  /** An action on the alert's host. */
  private host<T extends ActionType>(type: T, built: Built<T>, note?: string): void {
    const agent = this.trigger.agent;
    const notes = note === undefined ? [] : [note];
    if (!agent) return this.skip(type, this.noAgent(), notes);
    if ('missing' in built) return this.skip(type, built.missing, notes);
    this.out.actions.push(this.action(type, built.params, `${built.what} on ${agent.hostname}`, notes));
  }

  /**
   * A block on the alert's host, and (fleet_block) on every agent: at once for an indicator hit,
   * which is already known to be bad; after a confirming verdict otherwise; and with no agent to
   * collect evidence from, on approval.
   */
  private block<T extends 'block_ip' | 'block_domain' | 'block_hash'>(type: T, built: Built<T>): void {
    if ('missing' in built) return this.skip(type, built.missing);
    const agent = this.trigger.agent;
    if (agent) this.out.actions.push(this.action(type, built.params, `${built.what} on ${agent.hostname}`, [], this.playbook.mode, false));
    if (!this.playbook.fleetBlock) {
      if (!agent) this.skip(type, `${this.noAgent()}, and fleet_block is off`);
      return;
    }
    const fleetWide = `${built.what} on every agent`;
    if (this.trigger.indicatorHit)
      this.out.actions.push(this.action(type, built.params, fleetWide, ['indicator hit'], this.playbook.mode, false, true));
    else if (agent)
      this.out.actions.push(
        this.action(type, built.params, fleetWide, ['once the forensic verdict confirms it'], this.playbook.mode, true, true),
      );
    else
      this.out.actions.push(this.action(type, built.params, fleetWide, ['no agent to verify on: needs approval'], 'approval', false, true));
  }

  private action<T extends ActionType>(
    type: T,
    params: ActionParams[T],
    what: string,
    notes: string[],
    mode: ResponseMode = this.playbook.mode,
    requireVerdict = this.playbook.requireVerdict && DISRUPTIVE_ACTIONS.has(type),
    fleet = false,
  ): PlannedAction {
    const waits = requireVerdict && !fleet ? ['waits for a confirmed forensic verdict'] : [];
    const reason = [`${this.why}: ${what}`, ...notes, ...waits].join('; ');
    // TypeScript cannot see that a PlannedActionOf<T> is one member of the union for a generic T.
    return { playbookId: this.playbook.id, type, params, mode, requireVerdict, reason, fleet } as PlannedActionOf<T> as PlannedAction;
  }

  private skip(type: ActionType, why: string, notes: string[] = []): void {
    this.out.skipped.push({ playbookId: this.playbook.id, type, reason: [`${this.why}: ${type} skipped: ${why}`, ...notes].join('; ') });
  }

  private noAgent(): string {
    return `no agent on ${this.trigger.alert.computer ?? "the alert's host"}`;
  }
}

function killParams(fields: Record<string, unknown>, tree: boolean): Built<'kill_process'> {
  const pid = positiveInteger(fields.ProcessId);
  if (pid === null) return { missing: 'no ProcessId in the event' };
  if (pid === 1) return { missing: 'the process is init (pid 1)' };
  const params: ActionParams['kill_process'] = { pid, tree };
  const startTime = positiveInteger(fields.ProcessStartTicks);
  if (startTime !== null) params.startTime = startTime;
  const image = textField(fields.Image);
  if (image !== null) params.image = image;
  return { params, what: `kill process ${pid}${image === null ? '' : ` (${image})`}${tree ? ' and its descendants' : ''}` };
}

/** The file an alert is about: the written file for file events, the program otherwise. */
function quarantineParams(fields: Record<string, unknown>): Built<'quarantine_file'> {
  const target = textField(fields.TargetFilename);
  const path = target ?? textField(fields.Image);
  if (path === null) return { missing: 'no TargetFilename or Image in the event' };
  if (!path.startsWith('/')) return { missing: `${path} is not an absolute path` };
  if (isSystemPath(path)) return { missing: `${path} is a system program: quarantining it would break the host` };
  const sha256 = target === null ? sha256FromHashes(fields.Hashes) : null;
  return { params: sha256 === null ? { path } : { path, sha256 }, what: `quarantine ${path}` };
}

function evidenceParams(fields: Record<string, unknown>): Built<'collect_evidence'> {
  const pid = positiveInteger(fields.ProcessId);
  const path = textField(fields.TargetFilename) ?? textField(fields.Image);
  const params: ActionParams['collect_evidence'] = {};
  if (pid !== null) params.pid = pid;
  if (path !== null && path.startsWith('/')) params.path = path;
  return { params, what: `collect evidence${pid === null ? '' : ` on process ${pid}`}` };
}

function ipBlockParams(fields: Record<string, unknown>, serverAddresses: string[]): Built<'block_ip'> {
  const address = textField(fields.DestinationIp);
  if (address === null) return { missing: 'no DestinationIp in the event' };
  const refused = unblockableIpReason(address, serverAddresses);
  if (refused !== null) return { missing: refused };
  const ip = normalizeIp(address)!;
  return { params: { addresses: [ip] }, what: `block ${ip}` };
}

function domainBlockParams(fields: Record<string, unknown>, serverAddresses: string[]): Built<'block_domain'> {
  const names = [fields.DestinationHostname, fields.QueryName].map(textField).filter((name) => name !== null);
  if (names.length === 0) return { missing: 'no DestinationHostname or QueryName in the event' };
  const server = new Set(serverAddresses.map((name) => normalizeDomain(name)));
  const domains = new Set<string>();
  const refused: string[] = [];
  for (const name of names) {
    const domain = normalizeDomain(name);
    if (domain === null) refused.push(`"${name}" is not a domain name that can be blocked`);
    else if (server.has(domain)) refused.push(`${domain} is the Firebreak server's name`);
    else domains.add(domain);
  }
  if (domains.size === 0) return { missing: refused.join('; ') };
  return { params: { domains: [...domains] }, what: `block ${[...domains].join(', ')}` };
}

function hashBlockParams(fields: Record<string, unknown>): Built<'block_hash'> {
  const sha256 = sha256FromHashes(fields.Hashes);
  if (sha256 === null) return { missing: 'no SHA256 in the event (Hashes)' };
  const image = textField(fields.Image);
  if (image !== null && isSystemPath(image))
    return { missing: `${image} is a system program: blocking its hash would stop every use of it` };
  return { params: { sha256: [sha256] }, what: `block hash ${shortHash(sha256)}${image === null ? '' : ` (${image})`}` };
}

/** 30m, 2h, 1d: a guardrail's duration as it was written. */
function duration(ms: number): string {
  const [unit, size] = Object.entries(DURATION_UNITS)
    .reverse()
    .find(([, size]) => ms % size === 0)!;
  return `${ms / size}${unit}`;
}

/**
 * One action per type, scope and parameters, in first-seen order; the most immediate form wins.
 * Killing a process with or without its tree is one kill, of the tree when any playbook wants it.
 */
function mergeActions(actions: PlannedAction[]): PlannedAction[] {
  const byKey = new Map<string, { action: PlannedAction; playbooks: Set<string> }>();
  for (const action of actions) {
    const key = mergeKey(action);
    const kept = byKey.get(key);
    if (kept === undefined) {
      byKey.set(key, { action, playbooks: new Set([action.playbookId]) });
      continue;
    }
    const [winner, other] = immediacy(action) > immediacy(kept.action) ? [action, kept.action] : [kept.action, action];
    const merged = { ...winner } as PlannedAction;
    if (merged.type === 'kill_process' && other.type === 'kill_process')
      merged.params = { ...merged.params, tree: merged.params.tree || other.params.tree };
    kept.action = merged;
    kept.playbooks.add(action.playbookId);
  }
  return [...byKey.values()].map(({ action, playbooks }) => {
    const others = [...playbooks].filter((id) => id !== action.playbookId);
    return others.length === 0 ? action : { ...action, reason: `${action.reason}; also asked for by playbook ${others.join(', ')}` };
  });
}

function mergeKey(action: PlannedAction): string {
  const params: Record<string, unknown> = { ...action.params };
  if (action.type === 'kill_process') delete params.tree;
  return `${action.type}|${action.fleet}|${canonicalJson(params)}`;
}

function immediacy(action: PlannedAction): number {
  return (action.mode === 'automatic' ? 2 : 0) + (action.requireVerdict ? 0 : 1);
}

/** JSON with object keys sorted, so equal parameters give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}
