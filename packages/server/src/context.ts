/** What routes share: the running server's parts. */
import type { Store } from '@firebreak/store';
import type { AuditLog } from './audit.js';
import type { Authenticator } from './auth.js';
import type { IngestThreads } from './detection/threads.js';
import type { IncidentService } from './incidents.js';
import type { LiveFeed } from './live-feed.js';
import type { Pipeline } from './pipeline.js';
import type { ActionService } from './response/actions.js';
import type { AgentRegistry } from './response/agents.js';
import type { Blocklist } from './response/blocklist.js';
import type { AgentHub } from './response/hub.js';
import type { PlaybookLibrary } from './response/playbooks.js';
import type { ResponseService } from './response/service.js';
import type { Stats } from './stats.js';
import type { Advisories } from './supply-chain/advisories.js';
import type { DriftStage } from './supply-chain/drift-stage.js';
import type { SoftwareInventory } from './supply-chain/inventory.js';

export interface ServerParts {
  store: Store;
  pipeline: Pipeline;
  threads: IngestThreads;
  incidents: IncidentService;
  feed: LiveFeed;
  audit: AuditLog;
  auth: Authenticator;
  stats: Stats;
  /** Where uploads are spooled while they are read. */
  uploadDir: string;
  /** Other counters to show in stats (syslog listener…). */
  extraStats(): Record<string, unknown>;
  version: string;
  response: ResponseParts;
  /** Who runs what, and where each hash was seen (issue 7). */
  software: SoftwareInventory;
  /** Vendor advisories and their blast radius. */
  advisories: Advisories;
  /** Behaviour baselines and drift. */
  drift: DriftStage;
}

/** Agents and response (issue 6): what the routes and the hub share. */
export interface ResponseParts {
  registry: AgentRegistry;
  hub: AgentHub;
  actions: ActionService;
  blocklist: Blocklist;
  playbooks: PlaybookLibrary;
  service: ResponseService;
  /** Agents pin this at enrollment: commands are signed with its private half. */
  publicKeyPem: string;
  /** What a manual isolation leaves open unless the request says otherwise. */
  isolationDefaults: { allow: { address: string; port?: number; protocol?: 'tcp' | 'udp' }[]; allowDns: boolean };
  close(): Promise<void>;
}
