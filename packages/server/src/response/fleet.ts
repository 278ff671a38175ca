/**
 * What the fleet has seen, for forensic verdicts: on which hosts each executable hash ran or is
 * installed, and when each destination was first contacted. Fed by agents' process and network
 * events and their inventories; hashes are rebuilt from stored inventories at start, destinations
 * from the events agents send after it.
 */
import { sha256FromHashes, type Inventory } from '@firebreak/core';
import { timeOf } from '@firebreak/core';

/** Destinations remembered at most; past it the earliest-seen are forgotten (they were seen long ago). */
const MAX_DESTINATIONS = 1_000_000;
const MAX_HASHES = 1_000_000;

export class FleetKnowledge {
  private readonly hashHosts = new Map<string, Set<string>>();
  private readonly destinations = new Map<string, number>();

  /** Takes in an agent's stored events. */
  observeEvents(hostname: string, events: readonly Record<string, unknown>[]): void {
    for (const event of events) {
      const sha256 = sha256FromHashes(event.Hashes);
      if (sha256) this.addHash(sha256, hostname);
      const destination = event.DestinationIp;
      if (typeof destination === 'string' && destination && !this.destinations.has(destination)) {
        if (this.destinations.size >= MAX_DESTINATIONS) this.destinations.delete(this.destinations.keys().next().value!);
        this.destinations.set(destination, timeOf(event['@timestamp']) ?? Date.now());
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

  /** Whether any host contacted the destination before `time`. */
  destinationSeenBefore(address: string, time: number): boolean {
    const first = this.destinations.get(address);
    return first !== undefined && first < time;
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
