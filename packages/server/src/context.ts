/** What routes share: the running server's parts. */
import type { Store } from '@firebreak/store';
import type { AuditLog } from './audit.js';
import type { Authenticator } from './auth.js';
import type { IngestThreads } from './detection/threads.js';
import type { IncidentService } from './incidents.js';
import type { LiveFeed } from './live-feed.js';
import type { Pipeline } from './pipeline.js';
import type { Stats } from './stats.js';

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
}
