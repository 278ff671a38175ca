/**
 * Fleet-wide blocks: one nftables table whose two interval sets (IPv4, IPv6) hold the blocked
 * addresses and networks; traffic to or from them is stopped in every direction. The blocklist
 * from the server names IPs and domains: `DomainBlocker` resolves the domains (again every few
 * minutes) and keeps the table at the union of both.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  checkPort,
  comparePrefixes,
  formatPrefix,
  listTable,
  nftAddressFamily,
  parseAddress,
  parsePrefix,
  prefixContains,
  quote,
  runNft,
  type IpPrefix,
} from './nft.js';

export const BLOCK_TABLE = 'firebreak_block';

export interface BlockTableOptions {
  /** Endpoints that stay reachable whatever is blocked (the Firebreak server: blocking it would cut the agent off). */
  keep?: { address: string; port: number }[];
}

export class BlockTable {
  private readonly keepRules: { input: string[]; output: string[] };

  constructor(options: BlockTableOptions = {}) {
    const keep = (options.keep ?? []).map((endpoint, i) => ({
      address: parseAddress(endpoint?.address, `block table keep[${i}].address`),
      port: checkPort(endpoint.port, `block table keep[${i}].port`),
    }));
    this.keepRules = {
      input: keep.map(({ address, port }) => `${nftAddressFamily(address)} saddr ${formatPrefix(address)} tcp sport ${port} accept`),
      output: keep.map(({ address, port }) => `${nftAddressFamily(address)} daddr ${formatPrefix(address)} tcp dport ${port} accept`),
    };
  }

  /**
   * Makes the table block exactly these IPs and CIDR networks, in one transaction (traffic never
   * sees a half-written list). Duplicates and networks inside other listed networks are dropped;
   * returns what the table holds, sorted, in canonical form.
   */
  async setAddresses(addresses: string[]): Promise<string[]> {
    const prefixes = reducePrefixes(addresses.map((address, i) => parsePrefix(address, `blocked address [${i}]`)));
    const v4 = prefixes.filter((prefix) => prefix.version === 4).map(formatPrefix);
    const v6 = prefixes.filter((prefix) => prefix.version === 6).map(formatPrefix);
    await runNft(this.script(v4, v6));
    return [...v4, ...v6];
  }

  /** The blocked addresses as the kernel holds them (empty when the table is absent). */
  async addresses(): Promise<string[]> {
    const table = await listTable('inet', BLOCK_TABLE);
    if (!table) return [];
    const elements: string[] = [];
    for (const item of table.nftables) {
      const set = item.set as { name?: string; elem?: unknown[] } | undefined;
      if (set && (set.name === 'addr4' || set.name === 'addr6')) elements.push(...(set.elem ?? []).map(elementText));
    }
    return reducePrefixes(elements.map((text) => parsePrefix(text, `nft set element of ${BLOCK_TABLE}`))).map(formatPrefix);
  }

  /** Removes the table (nothing blocked any more); removing an absent table is not an error. */
  async remove(): Promise<void> {
    await runNft(`table inet ${BLOCK_TABLE} {}\ndelete table inet ${BLOCK_TABLE}\n`);
  }

  /** Deletes and recreates the table: the sets' content and the rules change in one transaction. */
  private script(v4: string[], v6: string[]): string {
    const set = (name: string, type: string, members: string[]): string =>
      `  set ${name} { type ${type}; flags interval;${members.length ? ` elements = { ${members.join(', ')} };` : ''} }`;
    const chain = (name: string, rules: string[]): string =>
      [`  chain ${name} {`, `    type filter hook ${name} priority -90; policy accept;`, ...rules.map((rule) => `    ${rule}`), '  }'].join(
        '\n',
      );
    // Refused rather than dropped on the way out: a local program fails at once and an established connection dies on its next send.
    const refuse = (match: string): string[] => [
      `${match} meta l4proto tcp reject with tcp reset`,
      `${match} reject with icmpx type admin-prohibited`,
    ];
    return [
      `table inet ${BLOCK_TABLE} {}`,
      `delete table inet ${BLOCK_TABLE}`,
      `table inet ${BLOCK_TABLE} {`,
      set('addr4', 'ipv4_addr', v4),
      set('addr6', 'ipv6_addr', v6),
      // Loopback passes first: the resets the output chain sends come back through it.
      chain('input', ['iif "lo" accept', ...this.keepRules.input, 'ip saddr @addr4 drop', 'ip6 saddr @addr6 drop']),
      chain('output', ['oif "lo" accept', ...this.keepRules.output, ...refuse('ip daddr @addr4'), ...refuse('ip6 daddr @addr6')]),
      chain('forward', ['ip saddr @addr4 drop', 'ip daddr @addr4 drop', 'ip6 saddr @addr6 drop', 'ip6 daddr @addr6 drop']),
      '}',
      '',
    ].join('\n');
  }
}

/** Sorted, without duplicates and without networks that a listed network already covers (nft refuses overlapping intervals). */
function reducePrefixes(prefixes: IpPrefix[]): IpPrefix[] {
  const kept: IpPrefix[] = [];
  for (const prefix of [...prefixes].sort(comparePrefixes)) {
    // Sorted by address then length, a network comes before those inside it, so the last kept one is the only candidate.
    const last = kept[kept.length - 1];
    if (!last || !prefixContains(last, prefix)) kept.push(prefix);
  }
  return kept;
}

/** One set element of `nft -j` output: `"1.2.3.4"`, `{ prefix: { addr, len } }`, or either wrapped in `{ elem: { val } }`. */
function elementText(element: unknown): string {
  if (typeof element === 'string') return element;
  const value = element as { prefix?: { addr: string; len: number }; range?: [string, string]; elem?: { val: unknown } };
  if (value.prefix) return `${value.prefix.addr}/${value.prefix.len}`;
  if (value.elem) return elementText(value.elem.val);
  throw new Error(`unexpected element in the ${BLOCK_TABLE} sets: ${quote(JSON.stringify(element))}`);
}

/**
 * A domain name as blocks take it: lower case, no trailing dot, labels of 1-63 letters, digits,
 * hyphens and underscores (`_dmarc`, `my_host`: the server's blocklist takes them too), 253 at most.
 */
export function checkDomain(name: unknown, where: string): string {
  if (typeof name !== 'string') throw new Error(`${where}: expected a domain name, got ${typeof name}`);
  const domain = name.toLowerCase().replace(/\.$/, '');
  if (isIP(domain)) throw new Error(`${where}: ${quote(name)} is an IP address, not a domain name (block it as an address)`);
  const labels = domain.split('.');
  const validLabel = (label: string): boolean => /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label);
  if (domain.length === 0 || domain.length > 253 || !labels.every(validLabel)) {
    throw new Error(
      `${where}: ${quote(name)} is not a domain name (letters, digits, hyphens and underscores in dot-separated labels of 1-63, 253 at most)`,
    );
  }
  return domain;
}

/** What a blocklist update or refresh enforced. */
export interface BlockReport {
  /** What the block table holds now (explicit addresses and the domains' addresses). */
  addresses: string[];
  /** Each resolved domain with the addresses it blocks (from the last resolution that succeeded). */
  resolved: Record<string, string[]>;
  /** Domains that did not resolve this time: still listed, tried again at the next refresh. */
  unresolved: { domain: string; error: string }[];
  /** Resolved addresses that are never blocked (loopback, unspecified: a sinkholed name resolves to them). */
  ignored: { domain: string; address: string }[];
  /** Malformed entries of the list: not enforced, the rest is. */
  rejected: { value: string; error: string }[];
}

export interface DomainBlockerOptions {
  /** How often domains are resolved again (default 5 minutes). */
  refreshMs?: number;
  /** How long one name may take to resolve (default 5 s). */
  lookupTimeoutMs?: number;
  /** Told the outcome of each timed refresh. */
  onRefresh?: (outcome: BlockReport | Error) => void;
}

/**
 * Keeps a `BlockTable` at the blocklist's explicit addresses plus what its domains resolve to.
 * Names resolve through the system resolver (`getaddrinfo`: /etc/hosts, then DNS).
 */
export class DomainBlocker {
  private addressList: IpPrefix[] = [];
  private domainList: string[] = [];
  private rejected: BlockReport['rejected'] = [];
  /** Last successful resolution per domain: a name that stops resolving stays blocked at its last addresses. */
  private readonly lastResolved = new Map<string, string[]>();
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Updates and refreshes run one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly refreshMs: number;
  private readonly lookupTimeoutMs: number;

  constructor(
    private readonly table: BlockTable,
    private readonly options: DomainBlockerOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 5 * 60_000;
    this.lookupTimeoutMs = options.lookupTimeoutMs ?? 5000;
  }

  /** Replaces the blocklist, resolves its domains and writes the table. Malformed entries are reported, the rest enforced. */
  update(list: { addresses: string[]; domains: string[] }): Promise<BlockReport> {
    return this.serially(async () => {
      const rejected: BlockReport['rejected'] = [];
      const valid = <T>(values: unknown[], parse: (value: unknown, where: string) => T, what: string): T[] =>
        values.flatMap((value, i) => {
          try {
            return [parse(value, `${what}[${i}]`)];
          } catch (error) {
            rejected.push({ value: String(value), error: (error as Error).message });
            return [];
          }
        });
      this.addressList = valid(list.addresses ?? [], parsePrefix, 'blocked addresses');
      this.domainList = [...new Set(valid(list.domains ?? [], checkDomain, 'blocked domains'))].sort();
      this.rejected = rejected;
      for (const domain of this.lastResolved.keys()) if (!this.domainList.includes(domain)) this.lastResolved.delete(domain);
      return this.enforce();
    });
  }

  /** Resolves the domains again and rewrites the table. */
  refresh(): Promise<BlockReport> {
    return this.serially(() => this.enforce());
  }

  /** Refreshes every `refreshMs` until `stop()`; the timer does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refresh().then(
        (report) => this.options.onRefresh?.(report),
        (error: Error) => this.options.onRefresh?.(error),
      );
    }, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get domains(): string[] {
    return [...this.domainList];
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async enforce(): Promise<BlockReport> {
    const unresolved: BlockReport['unresolved'] = [];
    const ignored: BlockReport['ignored'] = [];
    await Promise.all(
      this.domainList.map(async (domain) => {
        try {
          const addresses = await this.resolve(domain);
          const blockable = addresses.filter((address) => !neverBlocked(address));
          for (const address of addresses) if (neverBlocked(address)) ignored.push({ domain, address });
          this.lastResolved.set(domain, blockable);
        } catch (error) {
          unresolved.push({ domain, error: (error as Error).message });
        }
      }),
    );
    const domainAddresses = [...this.lastResolved.values()].flat().map((address) => parseAddress(address, 'resolved address'));
    const addresses = await this.table.setAddresses([...this.addressList, ...domainAddresses].map(formatPrefix));
    const resolved = Object.fromEntries([...this.lastResolved].sort(([a], [b]) => (a < b ? -1 : 1)));
    return { addresses, resolved, unresolved: unresolved.sort((a, b) => (a.domain < b.domain ? -1 : 1)), ignored, rejected: this.rejected };
  }

  private async resolve(domain: string): Promise<string[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${this.lookupTimeoutMs} ms`)), this.lookupTimeoutMs);
    });
    try {
      const answers = await Promise.race([lookup(domain, { all: true, verbatim: true }), timeout]);
      return [...new Set(answers.map((answer) => formatPrefix(parseAddress(answer.address, `address of ${domain}`))))];
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Loopback and unspecified addresses: blocking them would cut the host off from itself. */
function neverBlocked(address: string): boolean {
  const prefix = parseAddress(address, 'resolved address');
  const special = ['127.0.0.0/8', '0.0.0.0/32', '::1/128', '::/128', '::ffff:127.0.0.0/104'];
  return special.some((text) => prefixContains(parsePrefix(text, 'special network'), prefix));
}
