/**
 * What an alert can be related to other alerts by, as short keys: process lineage on its host,
 * and indicators — some only meaningful on one host (an account, a file written there), some
 * anywhere (a file's content hash, a domain, an address), which is how spread across hosts shows.
 */
import { normalizeGuid, parsePid } from '../timeline/process-events.js';
import { actingAccount, contentHashes, domainOf, ipOf, isPersonalAccount, isTellingIp, textOf } from './values.js';

/** An alert as the grouping reads it. `fields`: the flat fields of its evidence event, under Sigma's names. */
export interface AlertFacts {
  id: number;
  kind: string;
  ruleId: string;
  ruleTitle: string;
  level: string;
  /** ms since the epoch */
  timestamp: number;
  computer: string | null;
  tags: readonly string[];
  fields: Record<string, unknown>;
}

export interface Relations {
  /** The host in one spelling (lower case); none when the alert names none. */
  host: string | undefined;
  /** Process lineage keys: this process, its parent, by GUID and by PID (all on this host). */
  lineage: string[];
  /** Indicator keys: content hashes, domains and addresses (any host); personal accounts and written files (this host). */
  indicators: string[];
  /** Looked up, never stored: an image this alert runs or loads that an earlier alert may have written. */
  written: string[];
}

/** PIDs 0–4 are the idle and System processes (and init's 1): every process descends from them. */
const MIN_TELLING_PID = 5;

const GUID_FIELDS = ['ProcessGuid', 'ParentProcessGuid', 'SourceProcessGuid'];
/** Sysmon/Security names, then auditd's (pid, ppid). Security 4688's ProcessId is the creator's. */
const PID_FIELDS = ['ProcessId', 'ParentProcessId', 'NewProcessId', 'SourceProcessId', 'pid', 'ppid'];
const DOMAIN_FIELDS = ['QueryName', 'DestinationHostname'];
const IP_FIELDS = ['DestinationIp'];
const WRITTEN_FIELDS = ['TargetFilename'];
const EXECUTED_FIELDS = ['Image', 'ImageLoaded', 'ParentImage', 'NewProcessName', 'exe'];

export function relationsOf(alert: AlertFacts): Relations {
  const host = textOf(alert.computer)?.toLowerCase();
  const fields = alert.fields;
  const relations: Relations = { host, lineage: [], indicators: [], written: [] };
  for (const hash of contentHashes(fields)) relations.indicators.push(`h:${hash}`);
  for (const name of DOMAIN_FIELDS) {
    const domain = domainOf(fields[name]);
    // A single-label name (`wpad`, `localhost`) is resolved on every network.
    if (domain !== undefined && domain.includes('.') && ipOf(domain) === undefined) addOnce(relations.indicators, `d:${domain}`);
  }
  for (const name of IP_FIELDS) {
    const ip = ipOf(fields[name]);
    if (ip !== undefined && isTellingIp(ip)) addOnce(relations.indicators, `i:${ip}`);
  }
  // Without a host, PIDs, accounts and paths name nothing: such alerts relate by global indicators only.
  if (host === undefined) return relations;
  for (const name of GUID_FIELDS) {
    const guid = normalizeGuid(fields[name]);
    if (guid !== undefined) addOnce(relations.lineage, `g:${host}|${guid}`);
  }
  for (const name of PID_FIELDS) {
    const pid = parsePid(textOf(fields[name]));
    if (pid !== undefined && pid >= MIN_TELLING_PID) addOnce(relations.lineage, `p:${host}|${pid}`);
  }
  const account = actingAccount(fields);
  if (account !== undefined && isPersonalAccount(account)) relations.indicators.push(`u:${host}|${account.toLowerCase()}`);
  for (const name of WRITTEN_FIELDS) {
    const path = textOf(fields[name]);
    if (path !== undefined) addOnce(relations.indicators, fileKey(host, path));
  }
  for (const name of EXECUTED_FIELDS) {
    const path = textOf(fields[name]);
    if (path !== undefined) addOnce(relations.written, fileKey(host, path));
  }
  return relations;
}

/** Windows paths are case-insensitive; on Linux two names differing only by case are rare enough in one incident. */
function fileKey(host: string, path: string): string {
  return `f:${host}|${path.toLowerCase()}`;
}

function addOnce(list: string[], key: string): void {
  if (!list.includes(key)) list.push(key);
}
