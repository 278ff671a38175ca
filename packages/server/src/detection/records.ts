/** An event as the store takes it, its fields serialised once, where the event was read. */
import type { FirebreakEvent } from '@firebreak/core';
import type { SerializedEventRecord } from '@firebreak/store';

export function eventRecord(event: FirebreakEvent, receivedAt: number, origin: string = event.origin): SerializedEventRecord {
  return {
    time: event.timestamp ?? receivedAt,
    host: event.host ?? null,
    format: event.source.format,
    channel: event.channel ?? null,
    eventId: event.eventId ?? null,
    origin,
    fieldsJson: JSON.stringify(event.plainFields()),
  };
}
