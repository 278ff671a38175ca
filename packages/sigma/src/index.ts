export {
  loadRules,
  loadRuleSources,
  readRuleFiles,
  loadPlaceholders,
  ruleFiles,
  describeLogSource,
  RuleSet,
  type LoadOptions,
  type LoadResult,
  type FileReport,
  type RuleInfo,
  type RuleMatch,
  type Explanation,
} from './ruleset.js';
export { parseDocuments, type DocumentResult } from './document.js';
export { objectEvent } from './event.js';
export { loadMapping, MappingError, type LogSourceMapping, type LogSourceVariant } from './logsource.js';
export { compileRegex, type SafeRegex } from './regex.js';
export {
  CorrelationEngine,
  correlateAll,
  parseCorrelation,
  type CorrelationAlert,
  type CorrelationMatch,
  type CorrelationEngineOptions,
} from './correlation.js';
export type { Placeholders } from './modifiers.js';
export * from './types.js';
export { DetectionStream, type Detections } from './stream.js';
