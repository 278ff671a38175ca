/** An event as the store takes it, its fields serialised once, where the event was read. */
import type { FirebreakEvent } from '@firebreak/core';
import type { SerializedEventRecord } from '@firebreak/store';

export function eventRecord(event: FirebreakEvent, receivedAt: number, origin: string = event.origin): SerializedEventRecord {
  return {
    time: event.timestamp ?? receivedAt,
    host: event.host ?? null,
    format: event.source.format,
    channel: event.channel ?? null,
    eventId: storableEventId(event.eventId),
    origin,
    fieldsJson: JSON.stringify(event.plainFields()),
  };
}

/** Windows EventIDs are 16-bit; a number the store's 32-bit column cannot hold stays in the fields only. */
function storableEventId(id: number | undefined): number | null {
  return id !== undefined && Number.isInteger(id) && Math.abs(id) <= 0x7fffffff ? id : null;
}
