/**
 * Where the fleet has been, for forensic verdicts: when each destination (address or name) was first
 * contacted. Fed by agents' network and DNS events since the server started. (Which hosts have an
 * executable hash is the software inventory's: supply-chain/inventory.ts.)
 */
import { timeOf } from '@firebreak/core';

/** Destinations remembered at most; past it the earliest-seen are forgotten (they were seen long ago). */
const MAX_DESTINATIONS = 1_000_000;
/** Where agents' events name a destination: its address, or the name it was reached or looked up by. */
const DESTINATION_FIELDS = ['DestinationIp', 'DestinationHostname', 'QueryName'] as const;

export class FleetKnowledge {
  private readonly destinations = new Map<string, number>();

  /** Takes in an agent's stored events. */
  observeEvents(events: readonly Record<string, unknown>[]): void {
    for (const event of events) {
      const time = timeOf(event['@timestamp']) ?? Date.now();
      for (const field of DESTINATION_FIELDS) {
        const value = event[field];
        if (typeof value === 'string' && value) this.addDestination(field === 'DestinationIp' ? value : value.toLowerCase(), time);
      }
    }
  }

  /** Whether any host contacted the destination (an address, or a name) before `time`. */
  destinationSeenBefore(destination: string, time: number): boolean {
    const first = this.destinations.get(
      destination.includes(':') || /^[\d.]+$/.test(destination) ? destination : destination.toLowerCase(),
    );
    return first !== undefined && first < time;
  }

  private addDestination(destination: string, time: number): void {
    if (this.destinations.has(destination)) return;
    if (this.destinations.size >= MAX_DESTINATIONS) this.destinations.delete(this.destinations.keys().next().value!);
    this.destinations.set(destination, time);
  }
}
