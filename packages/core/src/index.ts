export { readEventFile, jsonValues, EventFileError, type JsonText, type ReadProblem } from './event-files.js';
export { eventTime, timeOf, isoTime, isoTimeMs } from './event-time.js';
export { FirebreakEvent, type EventSource, type EventHints, type Layer, type SourceFormat } from './event.js';
export {
  LEVELS,
  levelRank,
  ruleDetection,
  ruleIdentity,
  correlationDetection,
  eventHeader,
  type Detection,
  type DetectionLevel,
} from './hunt/detection.js';
export { attackOf, TACTICS, type Attack, type Tactic } from './hunt/attack.js';
export { type HuntSummary } from './hunt/summary.js';
export { listInputFiles } from './readers/inputs.js';
export { hunt, defaultHuntThreads, type HuntOptions, type HuntUpdate } from './hunt/hunt.js';
export { isLevel, loadHuntRules, ruleSelector, eventFilter, type RuleOptions, type EventFilterOptions } from './hunt/options.js';
export { summarizeRules, type RuleSummary } from './hunt/rules-summary.js';
export { RuleMatcher, type HuntItem } from './hunt/rule-matcher.js';
export { CorrelationStage } from './hunt/correlation-stage.js';
export { InputReader, type InputHandlers } from './timeline/inputs.js';
export { timeOrder } from './timeline/order.js';
export { TimedLines } from './timeline/timed-lines.js';
export { eventSummary, oneLine } from './timeline/summary.js';
export {
  processStart,
  processEnd,
  processRefOf,
  parsePid,
  normalizeGuid,
  baseName,
  type ProcessStart,
  type ProcessEnd,
  type ProcessRef,
  type ProcessSource,
} from './timeline/process-events.js';
export {
  ProcessTreeBuilder,
  ProcessForest,
  lineage,
  walkTrees,
  type ProcessNode,
  type ProcessSelector,
  type TreeStep,
} from './timeline/process-tree.js';
export {
  METRICS_REPORTS,
  metricsReport,
  EventIdMetrics,
  ComputerMetrics,
  LogonMetrics,
  LogMetrics,
  type MetricsReport,
  type MetricsReportName,
  type EventIdRow,
  type ComputerRow,
  type LogonRow,
  type LogRow,
} from './metrics/metrics.js';
export { describeEvent, logonTypeName } from './metrics/event-descriptions.js';
export {
  createSink,
  useColor,
  isTerminal,
  terminalWidth,
  OUTPUT_FORMATS,
  type DetectionSink,
  type OutputFormat,
  type SinkOptions,
} from './hunt/output/sink.js';
export { csvCell, printable, displayWidth, BufferedWriter, write, LEVEL_STYLE } from './hunt/output/index.js';
export { truncate, pad, channelShortName, jsonText } from './hunt/output/text.js';
export * from './incidents/index.js';
export { parseIngestBody, isIngestFormat, INGEST_FORMATS, type IngestFormat, type ParsedBatch } from './ingest/body.js';
export { type IngestContext, type LineRejection, type LineWarning } from './ingest/lines.js';
export {
  parseSyslog,
  syslogEvent,
  facilityName,
  severityName,
  MAX_SYSLOG_LENGTH,
  type SyslogMessage,
  type SyslogError,
  type SyslogContext,
  type SdElement,
} from './ingest/syslog.js';
export { parseBulk, type BulkAction, type BulkOperation, type BulkBatch } from './ingest/bulk.js';
export * from './response/protocol.js';
export {
  normalizeIp,
  unblockableIpReason,
  normalizeDomain,
  normalizeSha256,
  sha256FromHashes,
  isSystemPath,
  suspiciousLocation,
} from './response/indicators.js';
export * from './response/playbooks.js';
export * from './response/verdict.js';
export * from './response/exports.js';
export { AuditdAssembly, type AuditProblemKind } from './readers/auditd.js';
export * from './supply-chain/index.js';
