/**
 * What the fleet has seen, for forensic verdicts: on which hosts each executable hash ran or is
 * installed, and when each destination (address or name) was first contacted. Fed by agents' process and network
 * events and their inventories; hashes are rebuilt from stored inventories at start, destinations
 * from the events agents send after it.
 */
import { sha256FromHashes, type Inventory } from '@firebreak/core';
import { timeOf } from '@firebreak/core';

/** Destinations remembered at most; past it the earliest-seen are forgotten (they were seen long ago). */
const MAX_DESTINATIONS = 1_000_000;
const MAX_HASHES = 1_000_000;
/** Where agents' events name a destination: its address, or the name it was reached or looked up by. */
const DESTINATION_FIELDS = ['DestinationIp', 'DestinationHostname', 'QueryName'] as const;

export class FleetKnowledge {
  private readonly hashHosts = new Map<string, Set<string>>();
  private readonly destinations = new Map<string, number>();

  /** Takes in an agent's stored events. */
  observeEvents(hostname: string, events: readonly Record<string, unknown>[]): void {
    for (const event of events) {
      const sha256 = sha256FromHashes(event.Hashes);
      if (sha256) this.addHash(sha256, hostname);
      const time = timeOf(event['@timestamp']) ?? Date.now();
      for (const field of DESTINATION_FIELDS) {
        const value = event[field];
        if (typeof value === 'string' && value) this.addDestination(field === 'DestinationIp' ? value : value.toLowerCase(), time);
      }
    }
  }

  observeInventory(hostname: string, inventory: Inventory): void {
    for (const executable of inventory.executables) this.addHash(executable.sha256, hostname);
  }

  /** Hosts other than `except` on which the hash was seen. */
  hostsWithHash(sha256: string, except: string): number {
    const hosts = this.hashHosts.get(sha256.toLowerCase());
    return hosts ? hosts.size - (hosts.has(except) ? 1 : 0) : 0;
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

  private addHash(sha256: string, hostname: string): void {
    const key = sha256.toLowerCase();
    let hosts = this.hashHosts.get(key);
    if (!hosts) {
      if (this.hashHosts.size >= MAX_HASHES) this.hashHosts.delete(this.hashHosts.keys().next().value!);
      this.hashHosts.set(key, (hosts = new Set()));
    }
    hosts.add(hostname);
  }
}
