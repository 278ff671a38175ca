/**
 * An ingest thread: loads the rules once, then parses request bodies into events and runs the
 * rules on them in the same pass (the events are at hand: nothing is parsed twice), or runs the
 * rules on events that are already stored. Correlations run on the main thread, in storage order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  FirebreakEvent,
  RuleMatcher,
  loadHuntRules,
  parseBulk,
  parseIngestBody,
  summarizeRules,
  type HuntItem,
  type SourceFormat,
} from '@firebreak/core';
import { objectEvent } from '@firebreak/sigma';
import type {
  BulkItem,
  Detected,
  EventForDetection,
  EventMatch,
  FromThread,
  Parsed,
  RuleListing,
  ThreadOptions,
  ToThread,
} from './protocol.js';
import { eventRecord } from './records.js';

const port = parentPort!;
const { rules } = workerData as ThreadOptions;

try {
  const loaded = loadHuntRules(rules);
  const matcher = new RuleMatcher(loaded.ruleSet);
  const listing: RuleListing[] = loaded.ruleSet.ruleInfos.map((info) => ({
    id: info.id ?? info.name ?? info.title,
    title: info.title,
    level: info.level ?? 'informational',
    status: info.status ?? 'unknown',
    tags: info.tags,
    file: info.location.file ?? null,
    logsource: { ...info.logsource } as Record<string, string>,
  }));
  port.postMessage({ kind: 'ready', summary: summarizeRules(loaded), rules: listing } satisfies FromThread);
  port.on('message', (message: ToThread) =>
    port.postMessage(
      message.kind === 'parse'
        ? ({ kind: 'parsed', seq: message.seq, ...parse(matcher, message) } satisfies FromThread)
        : ({ kind: 'detected', seq: message.seq, ...detect(matcher, message.events) } satisfies FromThread),
    ),
  );
} catch (error) {
  port.postMessage({ kind: 'failed', message: (error as Error).message } satisfies FromThread);
}

function parse(matcher: RuleMatcher, message: Extract<ToThread, { kind: 'parse' }>): Parsed {
  const { format, body, context } = message;
  let events: FirebreakEvent[];
  let rejected: Parsed['rejected'];
  let items: BulkItem[] | undefined;
  if (format === 'bulk') {
    const bulk = parseBulk(body, context, message.index);
    events = [];
    rejected = bulk.rejected;
    items = bulk.operations.map(({ action, index, id, document, error }) => {
      if (!document) return { action, index, id, error: error ?? 'not stored' };
      events.push(document);
      return { action, index, id, record: events.length - 1 };
    });
  } else ({ events, rejected } = parseIngestBody(format, body, context));
  const { matches, problems } = matchAll(matcher, events);
  return { records: events.map((event) => eventRecord(event, context.receivedAt)), rejected, items, matches, problems };
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
