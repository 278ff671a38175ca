/**
 * An ingest thread: loads the rules once, then parses request bodies into events and runs the
 * rules on them in the same pass (the events are at hand: nothing is parsed twice), or runs the
 * rules on events that are already stored. Correlations run on the main thread, in storage order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  FirebreakEvent,
  RuleMatcher,
  parseBulk,
  parseIngestBody,
  summarizeRules,
  type BulkOperation,
  type HuntItem,
  type SourceFormat,
} from '@firebreak/core';
import { objectEvent } from '@firebreak/sigma';
import type { SerializedEventRecord } from '@firebreak/store';
import type { BulkItem, Detected, EventForDetection, EventMatch, FromThread, Parsed, ThreadOptions, ToThread } from './protocol.js';
import { eventRecord } from './records.js';
import { loadThreadRules, ruleListing } from './rule-loading.js';

const port = parentPort!;
const options = workerData as ThreadOptions;

try {
  const loaded = loadThreadRules(options);
  const customFiles = new Set(options.customRules?.map((source) => source.file));
  const matcher = new RuleMatcher(loaded.ruleSet);
  const listing = loaded.ruleSet.ruleInfos.map((info) => ruleListing(info, customFiles.has(info.location.file ?? '')));
  port.postMessage({ kind: 'ready', summary: summarizeRules(loaded), rules: listing } satisfies FromThread);
  port.on('message', (message: ToThread) => {
    try {
      port.postMessage(
        message.kind === 'parse'
          ? ({ kind: 'parsed', seq: message.seq, ...parse(matcher, message) } satisfies FromThread)
          : ({ kind: 'detected', seq: message.seq, ...detect(matcher, message.events) } satisfies FromThread),
      );
    } catch (error) {
      // What no real log does (a value the structured clone cannot copy…) fails this request, not the thread.
      port.postMessage({ kind: 'error', seq: message.seq, message: (error as Error).message } satisfies FromThread);
    }
  });
} catch (error) {
  port.postMessage({ kind: 'failed', message: (error as Error).message } satisfies FromThread);
}

function parse(matcher: RuleMatcher, message: Extract<ToThread, { kind: 'parse' }>): Parsed {
  const { format, body, context } = message;
  let events: FirebreakEvent[];
  let rejected: Parsed['rejected'];
  let warnings: Parsed['warnings'];
  let operations: BulkOperation[] | undefined;
  if (format === 'bulk') {
    const bulk = parseBulk(body, context, message.index);
    ({ rejected, warnings, operations } = bulk);
    events = operations.flatMap((op) => (op.document ? [op.document] : []));
  } else ({ events, rejected, warnings } = parseIngestBody(format, body, context));
  const records: SerializedEventRecord[] = [];
  const kept: FirebreakEvent[] = [];
  const recordOf = new Map<FirebreakEvent, number>();
  for (const event of events) {
    try {
      records.push(eventRecord(event, context.receivedAt));
      recordOf.set(event, kept.push(event) - 1);
    } catch (error) {
      // Fields JSON cannot hold (nested past the stack): that line is rejected, the others go on.
      if (format !== 'bulk') rejected.push({ line: lineOf(event), error: `cannot store this event: ${(error as Error).message}` });
    }
  }
  const items = operations?.map(({ action, index, id, document, error }): BulkItem => {
    const record = document && recordOf.get(document);
    if (record === undefined) return { action, index, id, error: error ?? 'cannot store this event' };
    return { action, index, id, record };
  });
  rejected.sort((a, b) => a.line - b.line);
  const { matches, problems } = matchAll(matcher, kept);
  return { records, rejected, warnings, items, matches, problems };
}

/** Ingest events are named `ORIGIN:LINE`. */
function lineOf(event: FirebreakEvent): number {
  return Number(event.origin.slice(event.origin.lastIndexOf(':') + 1));
}

function detect(matcher: RuleMatcher, stored: EventForDetection[]): Detected {
  return matchAll(matcher, stored.map(storedEvent), (i) => `event ${stored[i]!.id}`);
}

function matchAll(matcher: RuleMatcher, events: FirebreakEvent[], name = (i: number) => events[i]!.origin): Detected {
  const matches: EventMatch[] = [];
  const problems: string[] = [];
  const items: HuntItem[] = [];
  for (let index = 0; index < events.length; index++) {
    try {
      matcher.match(events[index]!, items);
    } catch (error) {
      problems.push(`${name(index)}: rules not run: ${(error as Error).message}`);
    }
    for (const item of items) matches.push({ index, item });
    items.length = 0;
  }
  return { matches, problems };
}

function storedEvent(stored: EventForDetection): FirebreakEvent {
  const fields = JSON.parse(stored.fieldsJson) as Record<string, unknown>;
  const origin = stored.origin ?? `event ${stored.id}`;
  return new FirebreakEvent(objectEvent(fields), { file: origin, format: stored.format as SourceFormat, origin }, () => fields, {
    timestamp: stored.time,
    ...(stored.host === null ? {} : { host: stored.host }),
  });
}
