/**
 * What the storyline view reads from GET /api/v1/incidents/ID/graph (core's buildStoryline) and the
 * incident's alerts: which nodes the alerts' evidence touches, each process's parent and children,
 * the moments of the replay, and what is visible at one of them. No drawing here.
 */
import type { Alert } from '../api';

export type StoryNodeType = 'host' | 'user' | 'process' | 'file' | 'module' | 'domain' | 'ip';
export type StoryEdgeType = 'spawned' | 'loaded' | 'wrote' | 'connected' | 'resolved' | 'ran_on' | 'ran_as';

export interface StoryNode {
  id: string;
  type: StoryNodeType;
  label: string;
  /** Times (ms) of the first and last event that showed it. */
  first: number;
  last: number;
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

export interface StorylineGraph {
  nodes: StoryNode[];
  edges: StoryEdge[];
  truncated: boolean;
}

export const NODE_TYPES: StoryNodeType[] = ['host', 'process', 'user', 'module', 'file', 'domain', 'ip'];

/** An edge as drawn: ran_on only from a host to the processes it has no parent for (the rest would repeat the tree). */
export interface DrawnEdge extends StoryEdge {
  id: string;
  /** Its events include an alert's evidence. */
  flagged: boolean;
}

export interface StoryModel {
  nodes: StoryNode[];
  byId: Map<string, StoryNode>;
  edges: DrawnEdge[];
  /** Nodes the alerts' evidence events touch: processes that acted or were started, and what they acted on. */
  flagged: Set<string>;
  /** Node id → ids of the alerts whose evidence touches it. */
  alertsOf: Map<string, number[]>;
  /** Node id → the events that show it (for the timeline). */
  eventsOf: Map<string, number[]>;
  parentOf: Map<string, string>;
  childrenOf: Map<string, string[]>;
  /** Process id → its host's node id. */
  hostOf: Map<string, string>;
  /** Node id → the other ends of its non-tree edges, with the edge type, oldest first. */
  linksOf: Map<string, { node: string; type: StoryEdgeType; outgoing: boolean }[]>;
  /** Distinct times at which something appears, oldest first: the replay's steps. */
  moments: number[];
  /**
   * The alert story: what the evidence touches, the flagged processes' ancestors, hosts, children
   * and what they acted on. Everything else is the hosts' ordinary life around it.
   */
  story: Set<string>;
}

/** Edges where the event is about the process at `from` acting on the thing at `to`. */
const ACTING: ReadonlySet<StoryEdgeType> = new Set(['loaded', 'wrote', 'connected', 'resolved']);

export function buildModel(graph: StorylineGraph, alerts: readonly Alert[]): StoryModel {
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  const alertsOfEvent = new Map<number, number[]>();
  for (const alert of alerts) for (const eventId of alert.event_ids) push(alertsOfEvent, eventId, alert.id);

  const parentOf = new Map<string, string>();
  const childrenOf = new Map<string, string[]>();
  const linksOf: StoryModel['linksOf'] = new Map();
  const eventsOf = new Map<string, number[]>();
  const alertsOf = new Map<string, Set<number>>();
  const flagged = new Set<string>();
  const hostOf = new Map<string, string>();
  const edges: DrawnEdge[] = [];

  for (const edge of graph.edges) {
    if (!byId.has(edge.from) || !byId.has(edge.to)) continue;
    const alertIds = edge.eventIds.flatMap((id) => alertsOfEvent.get(id) ?? []);
    // The node an edge's event is about: the new process of a spawn, both ends of an act.
    const subjects = edge.type === 'spawned' ? [edge.to] : ACTING.has(edge.type) ? [edge.from, edge.to] : [];
    for (const subject of subjects) {
      for (const id of edge.eventIds) push(eventsOf, subject, id);
      if (alertIds.length === 0) continue;
      flagged.add(subject);
      const set = alertsOf.get(subject) ?? new Set<number>();
      for (const id of alertIds) set.add(id);
      alertsOf.set(subject, set);
    }
    if (edge.type === 'ran_on') {
      hostOf.set(edge.from, edge.to);
      continue;
    }
    if (edge.type === 'spawned') {
      parentOf.set(edge.to, edge.from);
      push(childrenOf, edge.from, edge.to);
    } else {
      push(linksOf, edge.from, { node: edge.to, type: edge.type, outgoing: true });
      push(linksOf, edge.to, { node: edge.from, type: edge.type, outgoing: false });
    }
    edges.push({ ...edge, id: `e${edges.length}`, flagged: alertIds.length > 0 });
  }
  // A host leads to the processes whose parent the graph does not know: the roots of its trees.
  for (const [process, host] of hostOf) {
    if (parentOf.has(process)) continue;
    const node = byId.get(process)!;
    edges.push({ id: `e${edges.length}`, from: host, to: process, type: 'ran_on', time: node.first, eventIds: [], flagged: false });
  }

  const story = storyOf(flagged, byId, parentOf, childrenOf, linksOf, hostOf);
  const moments = [...new Set([...graph.nodes.map((n) => n.first), ...edges.map((e) => e.time)])].sort((a, b) => a - b);
  return {
    nodes: graph.nodes,
    byId,
    edges,
    flagged,
    alertsOf: new Map([...alertsOf].map(([node, ids]) => [node, [...ids]])),
    eventsOf: new Map([...eventsOf].map(([node, ids]) => [node, [...new Set(ids)]])),
    parentOf,
    childrenOf,
    hostOf,
    linksOf,
    moments,
    story,
  };
}

function storyOf(
  flagged: Set<string>,
  byId: Map<string, StoryNode>,
  parentOf: Map<string, string>,
  childrenOf: Map<string, string[]>,
  linksOf: StoryModel['linksOf'],
  hostOf: Map<string, string>,
): Set<string> {
  const story = new Set(flagged);
  for (const id of flagged) {
    if (byId.get(id)?.type !== 'process') continue;
    for (const ancestor of chainOf(parentOf, id)) {
      story.add(ancestor);
      const host = hostOf.get(ancestor);
      if (host !== undefined) story.add(host);
    }
    for (const child of childrenOf.get(id) ?? []) story.add(child);
    for (const link of linksOf.get(id) ?? []) story.add(link.node);
  }
  return story;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The process and its ancestors, the process first. */
export function ancestry(model: StoryModel, id: string): string[] {
  return chainOf(model.parentOf, id);
}

/** A cycle in bad data ends the walk. */
function chainOf(parentOf: Map<string, string>, id: string): string[] {
  const chain = [id];
  for (let parent = parentOf.get(id); parent !== undefined && !chain.includes(parent); parent = parentOf.get(parent)) chain.push(parent);
  return chain;
}

/** The flagged process the earliest alert points at: where the incident's story starts. */
export function origin(model: StoryModel, alerts: readonly Alert[]): string | undefined {
  const alertTime = new Map(alerts.map((alert) => [alert.id, Date.parse(alert.timestamp)]));
  const firstAlert = (id: string): number =>
    Math.min(...(model.alertsOf.get(id) ?? []).map((alertId) => alertTime.get(alertId) ?? Infinity));
  const processes = [...model.flagged].filter((id) => model.byId.get(id)?.type === 'process');
  return processes.sort((a, b) => firstAlert(a) - firstAlert(b) || model.byId.get(a)!.first - model.byId.get(b)!.first)[0];
}

/** The nodes drawn (and laid out) for a scope and the node types shown, whatever the replay time. */
export function drawnNodes(model: StoryModel, scope: 'story' | 'all', types: ReadonlySet<StoryNodeType>): StoryNode[] {
  return model.nodes.filter((node) => types.has(node.type) && (scope === 'all' || model.story.has(node.id)));
}

export interface Point {
  x: number;
  y: number;
}

const ROW = 30;
const ENTITY_CELL = 160;
/** Label length (characters) the layout leaves room for; longer labels are cut with an ellipsis. */
export const LABEL_CHARS = 22;
const CHAR_WIDTH = 6.6;
const NODE_ROOM = 46;

/**
 * A process tree read left to right: each host, then the processes it has no parent for, each
 * child a column further and one row per leaf, a parent level with the middle of its children.
 * What a process acted on (files, modules, domains, IPs, accounts) sits in a small grid just below
 * its children, owned by the earliest process that touched it. Positions in model units.
 */
export function treeLayout(model: StoryModel, drawn: ReadonlySet<string>): Map<string, Point> {
  const byFirst = (a: string, b: string): number => model.byId.get(a)!.first - model.byId.get(b)!.first;
  const ids = [...drawn].filter((id) => model.byId.has(id)).sort(byFirst);
  const kind = (id: string): StoryNodeType => model.byId.get(id)!.type;
  const treeChildren = new Map<string, string[]>();
  const entitiesOf = new Map<string, string[]>();
  const roots: string[] = [];
  const loose: string[] = [];

  for (const id of ids) {
    const type = kind(id);
    if (type === 'host') roots.push(id);
    else if (type === 'process') {
      const parent = model.parentOf.get(id);
      const host = model.hostOf.get(id);
      if (parent !== undefined && drawn.has(parent)) push(treeChildren, parent, id);
      else if (host !== undefined && drawn.has(host)) push(treeChildren, host, id);
      else roots.push(id);
    } else {
      const owner = ownerOf(model, id, drawn);
      if (owner) push(entitiesOf, owner, id);
      else loose.push(id);
    }
  }

  const columns = new Map<number, number>();
  const depthOf = new Map<string, number>();
  const rowOf = new Map<string, number>();
  const entityCells = new Map<string, { depth: number; column: number; row: number }>();
  let cursor = 0;
  const place = (id: string, depth: number): void => {
    if (rowOf.has(id)) return;
    rowOf.set(id, NaN);
    depthOf.set(id, depth);
    const label = Math.min(model.byId.get(id)!.label.length, LABEL_CHARS);
    columns.set(depth, Math.max(columns.get(depth) ?? 0, label * CHAR_WIDTH + NODE_ROOM));
    const start = cursor;
    for (const child of treeChildren.get(id) ?? []) place(child, depth + 1);
    const entities = entitiesOf.get(id) ?? [];
    const perRow = entities.length <= 3 ? 1 : entities.length <= 10 ? 2 : 3;
    entities.forEach((entity, index) => {
      entityCells.set(entity, { depth: depth + 1, column: index % perRow, row: cursor + Math.floor(index / perRow) });
      columns.set(depth + 1, Math.max(columns.get(depth + 1) ?? 0, perRow === 1 ? ENTITY_CELL : 0));
    });
    cursor += Math.ceil(entities.length / perRow);
    if (cursor === start) cursor++;
    rowOf.set(id, (start + cursor - 1) / 2);
  };
  for (const root of roots) {
    place(root, kind(root) === 'host' ? 0 : 1);
    cursor++;
  }
  // Processes whose parents form a loop (bad data) have no root: they start trees of their own.
  for (const id of ids) if (kind(id) === 'process' && !rowOf.has(id)) place(id, 1);
  loose.forEach((id, index) => entityCells.set(id, { depth: 1, column: index % 4, row: cursor + Math.floor(index / 4) }));

  const left = columnStarts(columns);
  const positions = new Map<string, Point>();
  for (const [id, row] of rowOf) positions.set(id, { x: left(depthOf.get(id)!), y: row * ROW });
  for (const [id, cell] of entityCells) positions.set(id, { x: left(cell.depth) + cell.column * ENTITY_CELL, y: cell.row * ROW });
  return positions;
}

/** The earliest drawn process that touched an entity; for an address only resolved, its domain's owner. */
function ownerOf(model: StoryModel, id: string, drawn: ReadonlySet<string>): string | undefined {
  const links = (model.linksOf.get(id) ?? []).filter((link) => drawn.has(link.node));
  const first = (candidates: string[]): string | undefined =>
    candidates.sort((a, b) => model.byId.get(a)!.first - model.byId.get(b)!.first)[0];
  const process = first(links.filter((link) => model.byId.get(link.node)!.type === 'process').map((link) => link.node));
  if (process) return process;
  const viaDomain = links.filter((link) => model.byId.get(link.node)!.type === 'domain').map((link) => ownerOf(model, link.node, drawn));
  return first(viaDomain.filter((owner): owner is string => owner !== undefined));
}

/** x of each depth's column: the widest label of the column before sets the gap. */
function columnStarts(widths: Map<number, number>): (depth: number) => number {
  const starts = [0];
  const deepest = Math.max(0, ...widths.keys());
  for (let depth = 1; depth <= deepest + 1; depth++) starts[depth] = starts[depth - 1]! + (widths.get(depth - 1) ?? ENTITY_CELL);
  return (depth) => starts[depth] ?? 0;
}
