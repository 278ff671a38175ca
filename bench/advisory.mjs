/**
 * Advisory blast radius (issue 7): a store holding EVENTS events spread over 30 days from HOSTS
 * hosts (Sysmon process, DNS and network events), then the blast radius of an advisory naming 2
 * domains and 2 IPs (a retro-hunt over the 30 days) plus a version and a hash (the inventory).
 *
 *   node bench/advisory.mjs [--events 1000000] [--hosts 1000] [--store postgres://…?schema=NAME]
 *   (after `npx tsc -b`)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '@firebreak/store';
import { seededRandom } from '@firebreak/testkit';
import { Advisories } from '../packages/server/dist/src/supply-chain/advisories.js';
import { SoftwareInventory } from '../packages/server/dist/src/supply-chain/inventory.js';

const { values } = parseArgs({ options: { events: { type: 'string' }, hosts: { type: 'string' }, store: { type: 'string' } } });
const EVENTS = Number(values.events ?? 1_000_000);
const HOSTS = Number(values.hosts ?? 1000);
const DAY = 24 * 60 * 60 * 1000;
const now = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'firebreak-bench-advisory-'));
const store = await openStore({ url: values.store, dataDir: dir });

const random = seededRandom(7);
const DOMAINS = ['www.3cx.com', 'update.microsoft.com', 'login.live.com', 'github.com', 'raw.githubusercontent.com', 'cdn.office.net'];
function event(i) {
  const host = `ws-${String(Math.floor(random() * HOSTS)).padStart(4, '0')}`;
  const time = now - Math.floor(random() * 30 * DAY);
  const kind = i % 3;
  const fields =
    kind === 0
      ? {
          Channel: 'Microsoft-Windows-Sysmon/Operational',
          EventID: 22,
          Computer: host,
          Image: 'C:\\Program Files\\App\\app.exe',
          QueryName: i % 50_000 === 0 ? 'akamaicontainer.com' : DOMAINS[i % DOMAINS.length],
        }
      : kind === 1
        ? {
            Channel: 'Microsoft-Windows-Sysmon/Operational',
            EventID: 3,
            Computer: host,
            Image: 'C:\\Windows\\explorer.exe',
            DestinationIp: i % 40_000 === 1 ? '203.0.113.66' : `10.${i % 250}.${(i >> 8) % 250}.${i % 200}`,
            DestinationPort: 443,
          }
        : {
            Channel: 'Microsoft-Windows-Sysmon/Operational',
            EventID: 1,
            Computer: host,
            Image: 'C:\\Windows\\System32\\svchost.exe',
            CommandLine: `svchost.exe -k netsvcs -p ${i}`,
            Hashes: 'SHA256=' + '1'.repeat(64),
          };
  return {
    time,
    host,
    format: 'flat',
    channel: fields.Channel,
    eventId: fields.EventID,
    origin: `bench:${i}`,
    fieldsJson: JSON.stringify(fields),
  };
}
const loadStart = performance.now();
for (let i = 0; i < EVENTS; i += 10_000)
  await store.appendEvents(Array.from({ length: Math.min(10_000, EVENTS - i) }, (_, j) => event(i + j)));
console.log(
  `stored ${EVENTS.toLocaleString()} events from ${HOSTS} hosts over 30 days in ${((performance.now() - loadStart) / 1000).toFixed(1)} s (${store.kind})`,
);

const inventory = new SoftwareInventory(store);
const advisories = new Advisories(store, inventory, undefined);
const advisory = {
  title: 'bench',
  vendor: '3CX Ltd',
  product: '3CX Desktop App',
  versions: ['18.12.416'],
  hashes: ['9'.repeat(64)],
  domains: ['akamaicontainer.com', 'msstorageboxes.com'],
  ips: ['203.0.113.66', '198.51.100.9'],
  references: [],
};
for (let run = 1; run <= 3; run++) {
  const start = performance.now();
  const affected = await advisories.blastRadius(advisory, now);
  console.log(`blast radius, run ${run}: ${affected.length} affected hosts in ${(performance.now() - start).toFixed(0)} ms`);
}
await inventory.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
