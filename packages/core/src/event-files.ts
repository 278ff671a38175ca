/**
 * Reading events from files into the one flat event model. The format is told by the content, not
 * the file's name, and gzip is decompressed as it streams: EVTX, evtx_dump JSON, Winlogbeat /
 * Elastic Agent ECS, other JSON, Windows XML exports and Linux audit logs. Files are streamed, so
 * their size is not limited by memory. Damage is reported with where it is, and the events around
 * it are still read.
 */
import { FirebreakEvent } from './event.js';
import { auditdEvents } from './readers/auditd.js';
import { EventFileError, MAX_LEADING_SPACE, decodeText, openContent, sniff, startsWithEvtxMagic } from './readers/content.js';
import { evtxFileEvents, evtxStreamEvents } from './readers/evtx.js';
import { jsonEvents } from './readers/json.js';
import { windowsXmlEvents } from './readers/windows-xml.js';

export { EventFileError } from './readers/content.js';
export { jsonValues, type JsonText } from './readers/json.js';

export interface ReadProblem {
  origin: string;
  message: string;
}

/**
 * Events of the file at `path`, whatever of the known formats it holds (gzipped or not). Damaged
 * records, bad JSON values, malformed XML events and audit lines go to `onProblem` and the rest is
 * read. Throws EventFileError when the file cannot be opened or is not an event log we know.
 */
export async function* readEventFile(path: string, onProblem: (p: ReadProblem) => void = () => {}): AsyncGenerator<FirebreakEvent> {
  if (startsWithEvtxMagic(path)) {
    // A plain EVTX file is read by the EVTX reader itself: random access, header checks, and no
    // stream to set up (a hunt opens thousands of small logs).
    yield* evtxFileEvents(path, onProblem);
    return;
  }
  const content = await openContent(path, onProblem);
  try {
    let found = sniff(content.head);
    if ('blank' in found) {
      // A blank file holds no events; one that goes on after a megabyte of white space is no log we know.
      if (content.complete) return;
      found = { unknown: `has only white space in its first ${MAX_LEADING_SPACE / 1024 / 1024} MiB` };
    }
    if ('unknown' in found)
      throw new EventFileError(`${path}: not a recognised event log (${content.gzipped ? 'gzip data that ' : ''}${found.unknown})`);
    if (found.kind === 'evtx') {
      yield* evtxStreamEvents(path, content.bytes, onProblem);
      return;
    }
    const text = decodeText(content.bytes, found.encoding);
    if (found.kind === 'json') yield* jsonEvents(path, text, onProblem);
    else if (found.kind === 'xml') yield* windowsXmlEvents(path, text, onProblem);
    else yield* auditdEvents(path, text, onProblem);
  } finally {
    content.close();
  }
}
