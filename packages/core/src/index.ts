export { readEventFile, toFields, jsonValues, type FileEvent, type JsonText, type ReadProblem } from './event-files.js';
export { eventTime } from './event-time.js';
