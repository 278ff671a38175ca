/**
 * Process trees rebuilt from process creation and termination events (Sysmon 1/5, Security
 * 4688/4689). A child is linked to its parent by the parent's GUID where the event has one
 * (Sysmon); otherwise by PID within the parent's lifetime: a PID is reused once its process has
 * ended, so the parent is the process holding that PID on the same host when the child was
 * created. Events are replayed in time order (ties in the order they were added), so a forest is
 * the same whatever order the files were read in.
 */
import type { FirebreakEvent } from '../event.js';
import { timeOrder } from './order.js';
import {
  baseName,
  processEnd,
  processStart,
  type ProcessEnd,
  type ProcessRef,
  type ProcessSource,
  type ProcessStart,
} from './process-events.js';

export interface ProcessNode {
  /** 1, 2, 3… in the order the processes (and placeholders) appear in time. */
  id: number;
  host: string;
  pid?: number;
  guid?: string;
  image?: string;
  commandLine?: string;
  user?: string;
  /** Creation time (ms since the epoch); undefined for a placeholder. */
  start?: number;
  /** Termination time, when a termination event was read. */
  end?: number;
  /** Known only as the parent of other processes: its creation was not among the events read. */
  placeholder: boolean;
  /** The logs that told of the process's creation (Sysmon and Security may both have). */
  sources: ProcessSource[];
  /** Where its creation and termination events were read. */
  origins: string[];
  parent?: ProcessNode;
  /** In time order. */
  children: ProcessNode[];
  /** What the creation event said of the parent (kept for roots whose parent was not linked). */
  parentPid?: number;
  parentImage?: string;
}

/** Sysmon and Security log the same creation a few milliseconds apart. */
const TWIN_WINDOW_MS = 2000;

/** Collects process events; `build()` links them into a forest. */
export class ProcessTreeBuilder {
  private items: (ProcessStart | ProcessEnd)[] = [];

  /** Keeps the event when it creates or ends a process; returns whether it did. */
  add(event: FirebreakEvent): boolean {
    const item = processStart(event) ?? processEnd(event);
    if (item) this.items.push(item);
    return item !== undefined;
  }

  /** Links what was added; the builder is left empty (its events may be many, and the forest holds what matters). */
  build(): ProcessForest {
    const items = this.items;
    this.items = [];
    const assembler = new Assembler();
    for (const item of timeOrder(items, (i) => i.time)) {
      if (item.kind === 'start') assembler.start(item);
      else assembler.end(item);
    }
    return new ProcessForest(assembler.nodes, assembler.byGuid, assembler.holders);
  }
}

/** One holder of a PID and the time span it held it (ms; open ends are ±Infinity). */
interface Holding {
  node: ProcessNode;
  from: number;
  until: number;
}

const guidKey = (host: string, guid: string): string => `${host.toLowerCase()}\n${guid}`;
const pidKey = (host: string, pid: number): string => `${host.toLowerCase()}\n${pid}`;

/** Replays creations and terminations in time order, keeping which process holds which PID. */
class Assembler {
  readonly nodes: ProcessNode[] = [];
  readonly byGuid = new Map<string, ProcessNode>();
  /** host+PID → every process that held it, in time order; the last one may still be running. */
  readonly holders = new Map<string, Holding[]>();

  start(item: ProcessStart): void {
    const known = item.guid === undefined ? undefined : this.byGuid.get(guidKey(item.host, item.guid));
    if (known?.placeholder) return this.upgrade(known, item);
    const same = known ?? this.twinOf(item);
    if (same) return this.merge(same, item);
    const parent = this.parentOf(item);
    const node = this.node(item.host, {
      pid: item.pid,
      guid: item.guid,
      image: item.image,
      commandLine: item.commandLine,
      user: item.user,
      start: item.time,
      placeholder: false,
      sources: [item.source],
      origins: [item.origin],
      parentPid: item.parentPid,
      parentImage: item.parentImage,
    });
    if (item.guid !== undefined) this.byGuid.set(guidKey(item.host, item.guid), node);
    // An untimed creation (replayed last) holds its PID only for the lookups of later creations.
    if (item.pid !== undefined) this.hold(node, item.pid, item.time ?? Infinity);
    if (parent) {
      node.parent = parent;
      parent.children.push(node);
    }
  }

  end(item: ProcessEnd): void {
    const byGuid = item.guid === undefined ? undefined : this.byGuid.get(guidKey(item.host, item.guid));
    const holding = item.pid === undefined ? undefined : this.current(item.host, item.pid);
    const node = byGuid ?? holding?.node;
    // A process whose creation was not read, or one already ended (Sysmon and Security both log it).
    if (!node || node.end !== undefined) return;
    node.end = item.time;
    node.origins.push(item.origin);
    if (holding?.node === node) holding.until = item.time ?? Infinity;
  }

  /** The process holding `pid` on `host` now, if it has not ended. */
  private current(host: string, pid: number): Holding | undefined {
    const list = this.holders.get(pidKey(host, pid));
    const last = list?.[list.length - 1];
    return last && last.until === Infinity ? last : undefined;
  }

  private hold(node: ProcessNode, pid: number, from: number): void {
    const key = pidKey(node.host, pid);
    const list = this.holders.get(key) ?? [];
    const previous = list[list.length - 1];
    // The previous holder must have ended by now, even though no termination was read.
    if (previous && previous.until > from) previous.until = from;
    list.push({ node, from, until: Infinity });
    this.holders.set(key, list);
  }

  /**
   * The creation of an already known process: the same event read twice, or the other log's
   * record of it (Sysmon and Security both log creations, with the same PID and image name).
   */
  private twinOf(item: ProcessStart): ProcessNode | undefined {
    const node = item.pid === undefined ? undefined : this.current(item.host, item.pid)?.node;
    if (!node || node.placeholder || node.start === undefined || item.time === undefined) return undefined;
    if (!sameName(node.image, item.image)) return undefined;
    const gap = Math.abs(node.start - item.time);
    return node.sources.includes(item.source) ? (gap === 0 ? node : undefined) : gap <= TWIN_WINDOW_MS ? node : undefined;
  }

  /** Adds what a second record of a creation knows; Sysmon's paths and command lines are the fuller ones. */
  private merge(node: ProcessNode, item: ProcessStart): void {
    node.origins.push(item.origin);
    if (node.sources.includes(item.source)) return;
    node.sources.push(item.source);
    const prefer = item.source === 'sysmon';
    if (item.image && (prefer || !node.image)) node.image = item.image;
    if (item.commandLine && (prefer || !node.commandLine)) node.commandLine = item.commandLine;
    if (item.user && (prefer || !node.user)) node.user = item.user;
    if (item.guid !== undefined && node.guid === undefined) {
      node.guid = item.guid;
      this.byGuid.set(guidKey(node.host, item.guid), node);
    }
    // The parent found by PID is the one Sysmon names by GUID: later children will name it so.
    const parent = node.parent;
    if (item.parentGuid !== undefined && parent && parent.guid === undefined && parent.pid === item.parentPid)
      this.adopt(parent, item.parentGuid, item);
  }

  /** `node`, known without a GUID (from Security auditing), is the parent a Sysmon creation names by GUID. */
  private adopt(node: ProcessNode, guid: string, child: ProcessStart): void {
    node.guid = guid;
    this.byGuid.set(guidKey(node.host, guid), node);
    node.image ??= child.parentImage;
    if (!node.placeholder) return;
    node.commandLine ??= child.parentCommandLine;
    node.user ??= child.parentUser;
  }

  /**
   * A creation logged after its children's (clocks or merged logs out of step): the placeholder
   * they hang from becomes the process. It stays a root, since linking it to a parent could close
   * a loop through its own children.
   */
  private upgrade(node: ProcessNode, item: ProcessStart): void {
    Object.assign(node, {
      placeholder: false,
      pid: item.pid ?? node.pid,
      image: item.image ?? node.image,
      commandLine: item.commandLine,
      user: item.user ?? node.user,
      start: item.time,
      parentPid: item.parentPid,
      parentImage: item.parentImage,
    });
    node.sources.push(item.source);
    node.origins.push(item.origin);
  }

  /**
   * The parent of a new process: by GUID, else the holder of the parent PID now, else a
   * placeholder. A record naming the process as its own parent names no parent at all (a parent
   * is alive when its child gets a PID, so the two PIDs always differ).
   */
  private parentOf(item: ProcessStart): ProcessNode | undefined {
    const { host, parentGuid, parentPid } = item;
    if ((parentGuid !== undefined && parentGuid === item.guid) || (parentPid !== undefined && parentPid === item.pid)) return undefined;
    if (parentGuid !== undefined) {
      const known = this.byGuid.get(guidKey(host, parentGuid));
      if (known) return known;
      // Security auditing may have logged the parent, without a GUID: the PID and name tell it is the same.
      const holder = parentPid === undefined ? undefined : this.current(host, parentPid)?.node;
      if (holder && holder.guid === undefined && sameName(holder.image, item.parentImage)) {
        this.adopt(holder, parentGuid, item);
        return holder;
      }
      const placeholder = this.placeholder(item);
      placeholder.guid = parentGuid;
      this.byGuid.set(guidKey(host, parentGuid), placeholder);
      return placeholder;
    }
    if (parentPid === undefined) return undefined;
    return this.current(host, parentPid)?.node ?? this.placeholder(item);
  }

  /** A parent known only from its child's creation event. */
  private placeholder(item: ProcessStart): ProcessNode {
    const node = this.node(item.host, {
      pid: item.parentPid,
      image: item.parentImage,
      commandLine: item.parentCommandLine,
      user: item.parentUser,
      placeholder: true,
      sources: [],
      origins: [],
    });
    // It held its PID from some unknown time; a running holder of the PID is left as it is.
    if (item.parentPid !== undefined && !this.current(item.host, item.parentPid)) {
      const list = this.holders.get(pidKey(item.host, item.parentPid));
      this.hold(node, item.parentPid, list?.[list.length - 1]?.until ?? -Infinity);
    }
    return node;
  }

  private node(host: string, fields: Omit<ProcessNode, 'id' | 'host' | 'children'>): ProcessNode {
    const node: ProcessNode = { id: this.nodes.length + 1, host, ...fields, children: [] };
    this.nodes.push(node);
    return node;
  }
}

/** Same executable name (file name, case-insensitive); an unknown name matches any. */
function sameName(a: string | undefined, b: string | undefined): boolean {
  return !a || !b || baseName(a).toLowerCase() === baseName(b).toLowerCase();
}

export interface ProcessSelector {
  pid?: number;
  guid?: string;
  /** Case-insensitive. */
  host?: string;
}

/** The rebuilt process trees of every host. */
export class ProcessForest {
  constructor(
    /** Every process and placeholder, in time order. */
    readonly nodes: readonly ProcessNode[],
    private readonly byGuid: ReadonlyMap<string, ProcessNode>,
    private readonly holders: ReadonlyMap<string, readonly Holding[]>,
  ) {}

  /** Each host (by name, case-insensitive) with its root processes in time order. */
  trees(): { host: string; roots: ProcessNode[] }[] {
    const byHost = new Map<string, { host: string; roots: ProcessNode[] }>();
    for (const node of this.nodes) {
      if (node.parent) continue;
      const key = node.host.toLowerCase();
      let tree = byHost.get(key);
      if (!tree) byHost.set(key, (tree = { host: node.host, roots: [] }));
      tree.roots.push(node);
    }
    return [...byHost.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, tree]) => tree);
  }

  /** The processes (and placeholders) with that PID or GUID, on that host if one is given. */
  find(selector: ProcessSelector): ProcessNode[] {
    const host = selector.host?.toLowerCase();
    return this.nodes.filter(
      (n) =>
        (selector.pid === undefined || n.pid === selector.pid) &&
        (selector.guid === undefined || n.guid === selector.guid) &&
        (host === undefined || n.host.toLowerCase() === host),
    );
  }

  /**
   * The process that produced an event: by GUID, else the process that held the PID on that host
   * at the event's time (an event without a time only when the PID had a single holder).
   */
  processOf(ref: ProcessRef): ProcessNode | undefined {
    if (ref.guid !== undefined) {
      const node = this.byGuid.get(guidKey(ref.host, ref.guid));
      if (node) return node;
    }
    if (ref.pid === undefined) return undefined;
    const list = this.holders.get(pidKey(ref.host, ref.pid));
    if (!list) return undefined;
    if (ref.time === undefined) return list.length === 1 ? list[0]!.node : undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const holding = list[i]!;
      if (holding.from <= ref.time) return ref.time <= holding.until ? holding.node : undefined;
    }
    return undefined;
  }
}

/** The processes, their ancestors and all their descendants. */
export function lineage(nodes: Iterable<ProcessNode>): Set<ProcessNode> {
  const out = new Set<ProcessNode>();
  const ancestors = new Set<ProcessNode>();
  const stack: ProcessNode[] = [];
  for (const node of nodes) {
    // An ancestor met before had its own ancestors added then.
    for (let up = node.parent; up && !ancestors.has(up); up = up.parent) ancestors.add(up);
    stack.push(node);
  }
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (out.has(node)) continue;
    out.add(node);
    // A loop, not push(...children): a process may have more children than a call takes arguments.
    for (const child of node.children) stack.push(child);
  }
  for (const node of ancestors) out.add(node);
  return out;
}

/** A node met in a walk: how deep it is, whether it is its parent's last child, and the step of its parent. */
export interface TreeStep {
  node: ProcessNode;
  depth: number;
  last: boolean;
  up?: TreeStep;
}

/** Depth-first, children in time order; without recursion, so a deep chain cannot overflow the stack. */
export function* walkTrees(roots: readonly ProcessNode[], keep: (node: ProcessNode) => boolean = () => true): Generator<TreeStep> {
  const stack: TreeStep[] = [];
  const push = (nodes: readonly ProcessNode[], up: TreeStep | undefined): void => {
    const kept = nodes.filter(keep);
    const depth = up ? up.depth + 1 : 0;
    for (let i = kept.length - 1; i >= 0; i--) stack.push({ node: kept[i]!, depth, last: i === kept.length - 1, up });
  };
  push(roots, undefined);
  while (stack.length > 0) {
    const step = stack.pop()!;
    yield step;
    push(step.node.children, step);
  }
}
