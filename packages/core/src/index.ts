export { readEventFile, toFields, jsonValues, type JsonText, type ReadProblem } from './event-files.js';
export { eventTime } from './event-time.js';
export { FirebreakEvent, type EventSource, type EventHints, type Layer, type SourceFormat } from './event.js';
export { LEVELS, levelRank, ruleDetection, correlationDetection, type Detection, type DetectionLevel } from './hunt/detection.js';
export { attackOf, TACTICS, type Attack, type Tactic } from './hunt/attack.js';
export { type HuntSummary } from './hunt/summary.js';
export { listInputFiles } from './readers/inputs.js';
