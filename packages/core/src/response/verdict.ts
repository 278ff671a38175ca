/**
 * Forensic verification: does the evidence collected from a host after an automatic response
 * show a compromise, or a false alarm? Each signal found is a reason with a weight, positive when
 * it points to malice, negative when it points to normal use:
 *
 * | code                   | weight | signal                                                                |
 * |------------------------|-------:|-----------------------------------------------------------------------|
 * | hash-unknown           |   +40* | the executable's hash was seen on no other host of the fleet          |
 * | destination-first-seen |   +35* | a destination never contacted by the fleet before the alert           |
 * | persistence-recent     |   +35* | a persistence point (systemd, cron, authorized_keys…) just changed    |
 * | deleted-while-running  |    +25 | the executable was deleted while its process ran                      |
 * | suspicious-location    |    +20 | the executable is in /tmp, /var/tmp, /dev/shm or a hidden folder      |
 * | still-connected        |    +15 | the process still runs, connected to the alert's or a new destination |
 * | gone-no-trace          |     +5 | the process is gone and nothing is left on disk                       |
 * | hash-common            |    −30 | the hash is on at least half the fleet, and on at least 3 hosts       |
 * | packaged-binary        |    −25 | a system program (/usr/bin…) whose hash other hosts share             |
 * | destination-known      |    −20 | every destination had been contacted by the fleet before              |
 *
 * (* strong signals.) The score is the sum, within −100..100. The verdict is `confirmed` at a
 * score of 50 or more with at least one strong signal (weak signals alone never confirm: a script
 * in /tmp that deleted itself is how many installers behave), `refuted` at −30 or less, and
 * `inconclusive` in between. A fleet grows familiar with a worm as it spreads: once its hash is on
 * half the hosts it reads as common, which is why verification is meant to run on the first hosts.
 *
 * Indicators (for fleet-wide blocking) come only with a confirmed verdict: the first-seen
 * destinations, and the executable's hash when no other host has it — never the hash of a shared
 * program (blocking python's hash because a script misused it would stop python everywhere), and
 * never a loopback, unspecified or protected (server) address.
 */
import type { EvidenceBundle, SocketInfo } from './protocol.js';
import {
  isSystemPath,
  normalizeDomain,
  normalizeIp,
  normalizeSha256,
  sha256FromHashes,
  shortHash,
  suspiciousLocation,
  textField,
  unblockableIpReason,
} from './indicators.js';

export interface VerdictContext {
  /** The flat fields of the event that triggered the response (Image, Hashes, DestinationIp…). */
  fields: Record<string, unknown>;
  /** On how many hosts other than this one the hash has been seen. */
  hostsWithHash(sha256: string): number;
  /** Whether any host of the fleet contacted the address (IP or domain) before the alert. */
  destinationSeenBefore(address: string): boolean;
  /** Hosts in the fleet, this one included. */
  fleetSize: number;
  /** Addresses never to name as indicators (the server's own). */
  protectedAddresses?: string[];
}

export type VerdictOutcome = 'confirmed' | 'inconclusive' | 'refuted';

export interface VerdictReason {
  code: string;
  text: string;
  weight: number;
}

export interface VerdictIndicator {
  type: 'ip' | 'domain' | 'sha256';
  value: string;
}

export interface Verdict {
  verdict: VerdictOutcome;
  score: number;
  reasons: VerdictReason[];
  /** What to block fleet-wide; empty unless confirmed. */
  indicators: VerdictIndicator[];
}

export const VERDICT_WEIGHTS = {
  'hash-unknown': 40,
  'destination-first-seen': 35,
  'persistence-recent': 35,
  'deleted-while-running': 25,
  'suspicious-location': 20,
  'still-connected': 15,
  'gone-no-trace': 5,
  'hash-common': -30,
  'packaged-binary': -25,
  'destination-known': -20,
} as const;
export type VerdictCode = keyof typeof VERDICT_WEIGHTS;

export const STRONG_SIGNALS: ReadonlySet<VerdictCode> = new Set(['hash-unknown', 'destination-first-seen', 'persistence-recent']);
/** A confirmed verdict needs at least this score and a strong signal; a refuted one at most `refuted`. */
export const VERDICT_THRESHOLDS = { confirmed: 50, refuted: -30 } as const;

const DELETED = ' (deleted)';

/** The program under examination: from the evidence first, the alert's event otherwise. */
interface Subject {
  path: string | null;
  sha256: string | null;
  deleted: boolean;
}

/** A place the process talked to: an address, its name, or both (from the alert's event). */
interface Destination {
  ip: string | null;
  domain: string | null;
  port: number | null;
}

export function forensicVerdict(evidence: EvidenceBundle, context: VerdictContext): Verdict {
  const subject = subjectOf(evidence, context.fields);
  const reasons: VerdictReason[] = [];
  const add = (code: VerdictCode, text: string): void => void reasons.push({ code, text, weight: VERDICT_WEIGHTS[code] });
  const hashUnknown = judgeExecutable(subject, context, add);
  const firstSeen = judgeDestinations(evidence, context, add);
  judgePersistence(evidence, add);
  judgeLiveness(evidence, subject, [usableIp(context.fields.DestinationIp, context), ...firstSeen.map((d) => d.ip)], add);
  const total = reasons.reduce((sum, reason) => sum + reason.weight, 0);
  const score = Math.max(-100, Math.min(100, total));
  const strong = reasons.some((reason) => STRONG_SIGNALS.has(reason.code as VerdictCode));
  const verdict: VerdictOutcome =
    score >= VERDICT_THRESHOLDS.confirmed && strong ? 'confirmed' : score <= VERDICT_THRESHOLDS.refuted ? 'refuted' : 'inconclusive';
  const indicators = verdict === 'confirmed' ? indicatorsOf(hashUnknown ? subject.sha256 : null, firstSeen) : [];
  return { verdict, score, reasons, indicators };
}

function subjectOf(evidence: EvidenceBundle, fields: Record<string, unknown>): Subject {
  const raw = evidence.executable?.path ?? evidence.process?.image ?? textField(fields.Image);
  const deleted = [evidence.executable?.path, evidence.process?.image].some((path) => path?.endsWith(DELETED));
  const path = raw?.endsWith(DELETED) ? raw.slice(0, -DELETED.length) : raw;
  const hash = evidence.executable?.sha256 ?? evidence.process?.sha256 ?? null;
  const sha256 = (hash === null ? null : normalizeSha256(hash)) ?? sha256FromHashes(fields.Hashes);
  return { path: path ?? null, sha256, deleted };
}

type Add = (code: VerdictCode, text: string) => void;

/** Hash rarity, location and packaging of the executable; true when its hash is unknown to the fleet. */
function judgeExecutable(subject: Subject, context: VerdictContext, add: Add): boolean {
  const { path, sha256 } = subject;
  const name = `executable ${path ?? '(unknown path)'}${sha256 === null ? '' : ` (sha256 ${shortHash(sha256)})`}`;
  if (path !== null) {
    const where = suspiciousLocation(path);
    if (where !== null) add('suspicious-location', `${name} is ${where}`);
    if (subject.deleted) add('deleted-while-running', `${name} was deleted while its process ran`);
  }
  const others = context.fleetSize - 1;
  if (sha256 === null || others < 1) return false;
  const seen = context.hostsWithHash(sha256);
  if (seen === 0) {
    add('hash-unknown', `${name} seen on no other of ${hosts(others)}`);
    return true;
  }
  const holders = seen + 1;
  if (holders >= 3 && holders * 2 >= context.fleetSize)
    add('hash-common', `${name} is common across the fleet: seen on ${seen} other of ${hosts(others)}`);
  if (path !== null && isSystemPath(path))
    add('packaged-binary', `${name} is a system program, identical on ${seen} other ${seen === 1 ? 'host' : 'hosts'}`);
  return false;
}

/** First-seen against known destinations; returns the first-seen ones. */
function judgeDestinations(evidence: EvidenceBundle, context: VerdictContext, add: Add): Destination[] {
  const destinations = destinationsOf(evidence, context);
  const firstSeen = destinations.filter(
    (d) => !(d.ip !== null && context.destinationSeenBefore(d.ip)) && !(d.domain !== null && context.destinationSeenBefore(d.domain)),
  );
  if (firstSeen.length > 0)
    add(
      'destination-first-seen',
      `connection to ${firstSeen.map(destinationText).join(', ')}: never contacted by the fleet before the alert`,
    );
  else if (destinations.length > 0)
    add('destination-known', `${destinations.map(destinationText).join(', ')} had been contacted by the fleet before the alert`);
  return firstSeen;
}

/**
 * The alert's destination (its address and name are one destination, known if either is) and
 * the remote ends of the process tree's sockets; loopback, unspecified and protected addresses
 * are not destinations.
 */
function destinationsOf(evidence: EvidenceBundle, context: VerdictContext): Destination[] {
  const { fields } = context;
  const protectedNames = new Set((context.protectedAddresses ?? []).map(normalizeDomain));
  const usableDomain = (value: unknown): string | null => {
    const domain = normalizeDomain(textField(value) ?? '');
    return domain !== null && !protectedNames.has(domain) ? domain : null;
  };
  const destinations: Destination[] = [];
  const ip = usableIp(fields.DestinationIp, context);
  const domain = usableDomain(fields.DestinationHostname) ?? usableDomain(fields.QueryName);
  if (ip !== null || domain !== null) destinations.push({ ip, domain, port: portOf(fields.DestinationPort) });
  for (const socket of processSockets(evidence)) {
    const remote = usableIp(socket.remoteAddress, context);
    if (remote !== null && !destinations.some((d) => d.ip === remote))
      destinations.push({ ip: remote, domain: null, port: socket.remotePort });
  }
  return destinations;
}

/** Sockets of the examined process and its descendants that talk to a remote end. */
function processSockets(evidence: EvidenceBundle): SocketInfo[] {
  if (evidence.process === null) return [];
  const pids = new Set([evidence.process.pid, ...evidence.descendants.map((p) => p.pid)]);
  return evidence.sockets.filter(
    (s) =>
      s.pid !== null &&
      pids.has(s.pid) &&
      s.remotePort !== 0 &&
      (s.protocol.startsWith('udp') || s.state === 'ESTABLISHED' || s.state === 'SYN_SENT'),
  );
}

function judgePersistence(evidence: EvidenceBundle, add: Add): void {
  if (evidence.recentPersistence.length === 0) return;
  const points = evidence.recentPersistence.map((p) => `${p.kind} ${p.path}`).join(', ');
  add('persistence-recent', `persistence added or changed recently: ${points}`);
}

/** An address that can be a destination: not loopback, unspecified or protected. */
function usableIp(value: unknown, context: VerdictContext): string | null {
  const text = textField(value);
  return text !== null && unblockableIpReason(text, context.protectedAddresses) === null ? normalizeIp(text) : null;
}

/** Still talking to the alert's or a first-seen destination, or vanished without a trace. */
function judgeLiveness(evidence: EvidenceBundle, subject: Subject, watched: (string | null)[], add: Add): void {
  const process = evidence.process;
  if (process === null) {
    if (evidence.executable === null) add('gone-no-trace', `the process had exited and left nothing on disk to examine`);
    return;
  }
  const suspicious = new Set(watched.filter((ip) => ip !== null));
  const connected = processSockets(evidence).find((s) => s.state === 'ESTABLISHED' && suspicious.has(normalizeIp(s.remoteAddress) ?? ''));
  if (connected)
    add(
      'still-connected',
      `process ${process.pid} (${subject.path ?? process.image}) still runs, connected to ${normalizeIp(connected.remoteAddress)}:${connected.remotePort}`,
    );
}

function indicatorsOf(sha256: string | null, firstSeen: Destination[]): VerdictIndicator[] {
  const indicators: VerdictIndicator[] = [];
  const push = (type: VerdictIndicator['type'], value: string | null): void => {
    if (value !== null && !indicators.some((i) => i.type === type && i.value === value)) indicators.push({ type, value });
  };
  push('sha256', sha256);
  for (const destination of firstSeen) {
    push('ip', destination.ip);
    push('domain', destination.domain);
  }
  return indicators;
}

function portOf(value: unknown): number | null {
  const port = Number(value);
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : null;
}

function destinationText(destination: Destination): string {
  const address = destination.ip === null ? destination.domain! : destination.ip.includes(':') ? `[${destination.ip}]` : destination.ip;
  const port = destination.port === null ? '' : `:${destination.port}`;
  return `${address}${port}${destination.ip !== null && destination.domain !== null ? ` (${destination.domain})` : ''}`;
}

function hosts(count: number): string {
  return `${count} host${count === 1 ? '' : 's'}`;
}
