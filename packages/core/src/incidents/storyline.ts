/**
 * An incident's storyline: the graph of what its events tell — which process spawned which, what
 * each loaded, wrote, resolved and connected to, on which host and as whom. Built from Sysmon
 * (1 process create, 3 network connect, 7 image loaded, 11 file create, 22 DNS query), Security 4688
 * and auditd execve events; other events add nothing. Same from/to/type is one edge listing every
 * event that showed it.
 *
 * Node identity: a process is its ProcessGuid when the event has one, else host + PID + image (a
 * parent known only by PID is the latest process seen with that PID on the host). Hosts and
 * personal accounts of a domain are the same node on every host; local accounts are per host.
 * Modules are their content hash when Sysmon gives one, else their path; files their path;
 * domains and addresses their value — so the same artifact on two hosts is one node both reach.
 */
import { baseName, normalizeGuid, parsePid } from '../timeline/process-events.js';
import { actingAccount, domainOf, ipOf, queryResultIps, strongestHash, textOf, textsOf } from './values.js';

export type StoryNodeType = 'host' | 'user' | 'process' | 'file' | 'module' | 'domain' | 'ip';
export type StoryEdgeType = 'spawned' | 'loaded' | 'wrote' | 'connected' | 'resolved' | 'ran_on' | 'ran_as';

export interface StoryNode {
  id: string;
  type: StoryNodeType;
  label: string;
  /** Times (ms) of the first and last event that showed it. */
  first: number;
  last: number;
  /** What the events said of it: path, pid, guid, commandLine, host, hash… (first value seen wins). */
  props: Record<string, string | number>;
}

export interface StoryEdge {
  from: string;
  to: string;
  type: StoryEdgeType;
  /** Time (ms) of the first event that showed it. */
  time: number;
  eventIds: number[];
}

export interface Storyline {
  nodes: StoryNode[];
  edges: StoryEdge[];
  /** Some events' nodes or edges were left out to stay within maxNodes/maxEdges (the earliest events are kept). */
  truncated: boolean;
}

/** A stored event: its id, time (ms), host and flat fields. */
export interface StoryEvent {
  id: number;
  time: number;
  host: string | null;
  fields: Record<string, unknown>;
}

export interface StorylineOptions {
  /** Default 500. */
  maxNodes?: number;
  /** Default 4 × maxNodes. */
  maxEdges?: number;
}

export const DEFAULT_STORYLINE_NODES = 500;

export function buildStoryline(events: readonly StoryEvent[], options: StorylineOptions = {}): Storyline {
  const maxNodes = limit(options.maxNodes ?? DEFAULT_STORYLINE_NODES, 'maxNodes');
  const graph = new StoryGraph(maxNodes, limit(options.maxEdges ?? 4 * maxNodes, 'maxEdges'));
  const ordered = [...events].sort((a, b) => a.time - b.time || a.id - b.id);
  for (const event of ordered) addEvent(graph, event);
  return graph.storyline();
}

function limit(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`buildStoryline: ${name} must be a whole number ≥ 0, not ${value}`);
  return value;
}

const SYSMON_CHANNEL = 'microsoft-windows-sysmon/operational';
const SYSMON_PROVIDER = 'microsoft-windows-sysmon';

type EventSource = 'sysmon' | 'security' | 'auditd';

function sourceOf(fields: Record<string, unknown>): EventSource | undefined {
  const channel = textOf(fields.Channel)?.toLowerCase();
  if (channel === SYSMON_CHANNEL || textOf(fields.Provider_Name)?.toLowerCase() === SYSMON_PROVIDER) return 'sysmon';
  if (channel === 'security') return 'security';
  return fields._source === 'auditd' ? 'auditd' : undefined;
}

function addEvent(graph: StoryGraph, event: StoryEvent): void {
  const source = sourceOf(event.fields);
  const eventId = Number(textOf(event.fields.EventID));
  if (source === 'sysmon') addSysmonEvent(graph, event, eventId);
  else if (source === 'security' && eventId === 4688) addSecurityProcessCreate(graph, event);
  else if (source === 'auditd' && textsOf(event.fields.type).includes('EXECVE')) addAuditdExecve(graph, event);
}

/** Sysmon events where a process acts on something: 3 network connect, 7 image loaded, 11 file create, 22 DNS query. */
const ACTOR_EVENTS = new Set([3, 7, 11, 22]);

function addSysmonEvent(graph: StoryGraph, event: StoryEvent, eventId: number): void {
  const f = event.fields;
  if (eventId === 1) {
    addProcessCreate(graph, event, {
      child: { guid: f.ProcessGuid, pid: f.ProcessId, image: f.Image, commandLine: f.CommandLine },
      parent: { guid: f.ParentProcessGuid, pid: f.ParentProcessId, image: f.ParentImage, commandLine: f.ParentCommandLine },
      user: textOf(f.User),
    });
    return;
  }
  if (!ACTOR_EVENTS.has(eventId)) return;
  const actor = graph.process(event, { guid: f.ProcessGuid, pid: f.ProcessId, image: f.Image });
  if (eventId === 7) graph.edge(actor, moduleNode(graph, event), 'loaded', event);
  else if (eventId === 11) graph.edge(actor, fileNode(graph, f.TargetFilename, event), 'wrote', event);
  else if (eventId === 3) {
    graph.edge(actor, valueNode(graph, 'ip', ipOf(f.DestinationIp), event), 'connected', event);
    graph.edge(actor, valueNode(graph, 'domain', domainOf(f.DestinationHostname), event), 'connected', event);
  } else if (eventId === 22) {
    const domain = valueNode(graph, 'domain', domainOf(f.QueryName), event);
    graph.edge(actor, domain, 'resolved', event);
    for (const ip of queryResultIps(f.QueryResults)) graph.edge(domain, valueNode(graph, 'ip', ip, event), 'resolved', event);
  }
}

/** Security 4688: ProcessId is the creator's PID, NewProcessId the new process's (both hex). */
function addSecurityProcessCreate(graph: StoryGraph, event: StoryEvent): void {
  const f = event.fields;
  addProcessCreate(graph, event, {
    child: { pid: f.NewProcessId, image: f.NewProcessName, commandLine: f.CommandLine },
    parent: { pid: f.ProcessId, image: f.ParentProcessName },
    user: actingAccount(f),
  });
}

/** auditd execve: the process keeps its PID across execve, so pid + exe is the new program and ppid its parent. */
function addAuditdExecve(graph: StoryGraph, event: StoryEvent): void {
  const f = event.fields;
  addProcessCreate(graph, event, {
    child: { pid: f.pid, image: f.exe, commandLine: f.proctitle },
    parent: { pid: f.ppid },
    user: textOf(f.UID) ?? textOf(f.uid),
  });
}

interface ProcessFacts {
  guid?: unknown;
  pid?: unknown;
  image?: unknown;
  commandLine?: unknown;
}

function addProcessCreate(
  graph: StoryGraph,
  event: StoryEvent,
  facts: { child: ProcessFacts; parent: ProcessFacts; user: string | undefined },
): void {
  const parent = graph.process(event, facts.parent);
  const child = graph.process(event, facts.child);
  graph.edge(parent, child, 'spawned', event);
  if (facts.user !== undefined) graph.edge(child, userNode(graph, facts.user, event), 'ran_as', event);
}

function moduleNode(graph: StoryGraph, event: StoryEvent): string | undefined {
  const path = textOf(event.fields.ImageLoaded);
  if (path === undefined) return undefined;
  const hash = strongestHash(event.fields);
  const props: Record<string, string> = hash === undefined ? { path } : { path, hash };
  return graph.node(`module:${hash ?? path.toLowerCase()}`, 'module', baseName(path), event, props);
}

function fileNode(graph: StoryGraph, value: unknown, event: StoryEvent): string | undefined {
  const path = textOf(value);
  return path === undefined ? undefined : graph.node(`file:${path.toLowerCase()}`, 'file', baseName(path), event, { path });
}

function valueNode(graph: StoryGraph, type: 'domain' | 'ip', value: string | undefined, event: StoryEvent): string | undefined {
  return value === undefined ? undefined : graph.node(`${type}:${value}`, type, value, event, {});
}

/** Realms whose accounts exist on every machine separately. */
const LOCAL_REALMS = new Set(['nt authority', 'nt service', 'builtin', 'window manager', 'font driver host', '']);

function userNode(graph: StoryGraph, user: string, event: StoryEvent): string | undefined {
  const lower = user.toLowerCase();
  const slash = lower.indexOf('\\');
  const realm = slash < 0 ? '' : lower.slice(0, slash);
  const host = event.host?.toLowerCase() ?? '';
  const local = LOCAL_REALMS.has(realm) || realm === host.split('.')[0];
  return graph.node(local ? `user:${host}|${lower}` : `user:${lower}`, 'user', user, event, {});
}

class StoryGraph {
  private readonly nodes = new Map<string, StoryNode>();
  private readonly edges = new Map<string, StoryEdge>();
  /** host|pid → the latest process node with that PID there (for parents known by PID alone). */
  private readonly processByPid = new Map<string, string>();
  private truncated = false;

  constructor(
    private readonly maxNodes: number,
    private readonly maxEdges: number,
  ) {}

  /** The node's id, created or updated with the event's time; undefined when the graph is full. */
  node(id: string, type: StoryNodeType, label: string, event: StoryEvent, props: Record<string, string | number>): string | undefined {
    const known = this.nodes.get(id);
    if (known) {
      known.first = Math.min(known.first, event.time);
      known.last = Math.max(known.last, event.time);
      for (const [name, value] of Object.entries(props)) if (!(name in known.props)) known.props[name] = value;
      return id;
    }
    if (this.nodes.size >= this.maxNodes) {
      this.truncated = true;
      return undefined;
    }
    this.nodes.set(id, { id, type, label, first: event.time, last: event.time, props });
    return id;
  }

  /** The process node an event names (and its ran_on edge to the host when new), or undefined when it names none. */
  process(event: StoryEvent, facts: ProcessFacts): string | undefined {
    const host = textOf(event.host);
    const hostKey = host?.toLowerCase() ?? '';
    const guid = normalizeGuid(facts.guid);
    const pid = parsePid(textOf(facts.pid));
    const image = textOf(facts.image);
    const pidKey = pid === undefined ? undefined : `${hostKey}|${pid}`;
    let id: string | undefined;
    if (guid !== undefined) id = `process:${guid}`;
    else if (pidKey !== undefined)
      id = image !== undefined ? `process:${pidKey}|${image.toLowerCase()}` : (this.processByPid.get(pidKey) ?? `process:${pidKey}|`);
    if (id === undefined) return undefined;
    const isNew = !this.nodes.has(id);
    const label = image !== undefined ? baseName(image) : pid !== undefined ? `PID ${pid}` : guid!;
    const node = this.node(id, 'process', label, event, processProps(guid, pid, image, textOf(facts.commandLine), host));
    if (node === undefined) return undefined;
    if (pidKey !== undefined) this.processByPid.set(pidKey, node);
    if (isNew && host !== undefined) this.edge(node, this.node(`host:${hostKey}`, 'host', host, event, {}), 'ran_on', event);
    return node;
  }

  edge(from: string | undefined, to: string | undefined, type: StoryEdgeType, event: StoryEvent): void {
    if (from === undefined || to === undefined) return;
    const key = `${from}\n${to}\n${type}`;
    const known = this.edges.get(key);
    if (known) {
      if (known.eventIds[known.eventIds.length - 1] !== event.id) known.eventIds.push(event.id);
      return;
    }
    if (this.edges.size >= this.maxEdges) {
      this.truncated = true;
      return;
    }
    this.edges.set(key, { from, to, type, time: event.time, eventIds: [event.id] });
  }

  storyline(): Storyline {
    return { nodes: [...this.nodes.values()], edges: [...this.edges.values()], truncated: this.truncated };
  }
}

function processProps(
  guid: string | undefined,
  pid: number | undefined,
  image: string | undefined,
  commandLine: string | undefined,
  host: string | undefined,
): Record<string, string | number> {
  const props: Record<string, string | number> = {};
  if (image !== undefined) props.image = image;
  if (pid !== undefined) props.pid = pid;
  if (guid !== undefined) props.guid = guid;
  if (commandLine !== undefined) props.commandLine = commandLine;
  if (host !== undefined) props.host = host;
  return props;
}
