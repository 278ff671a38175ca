export { readEventFile, toFields, jsonValues, type FileEvent, type ReadProblem } from './event-files.js';
