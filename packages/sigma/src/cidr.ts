/** The `cidr` modifier: IPv4 and IPv6 networks, tested against address strings from events. */
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidRuleError } from './types.js';

/** An address as a 128-bit number; IPv4 in its own space (not IPv4-mapped). */
interface Address {
  v6: boolean;
  value: bigint;
}

function parseAddress(text: string): Address | undefined {
  const s = text.trim();
  if (isIPv4(s)) return { v6: false, value: s.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n) };
  const bare = s.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!isIPv6(bare)) return undefined;
  return { v6: true, value: ipv6Value(bare) };
}

function ipv6Value(text: string): bigint {
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  const head = v4tail ? text.slice(0, -v4tail[1]!.length) + '0:0' : text;
  const [left = '', right] = head.split('::');
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const groups = right === undefined ? l : [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  let value = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
  if (v4tail) value = (value & ~0xffffffffn) | parseAddress(v4tail[1]!)!.value;
  return value;
}

/** `10.0.0.0/8`, `fe80::/10`, or a bare address (a /32 or /128). */
export function cidrTest(network: string): (address: string) => boolean {
  const [base = '', prefixText] = network.split('/');
  const address = parseAddress(base);
  const bits = address?.v6 ? 128 : 32;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!address || !Number.isInteger(prefix) || prefix < 0 || prefix > bits)
    throw new InvalidRuleError(`"${network}" is not a CIDR network`);
  const shift = BigInt(bits - prefix);
  const wanted = address.value >> shift;
  return (text) => {
    const candidate = parseAddress(text);
    return candidate !== undefined && candidate.v6 === address.v6 && candidate.value >> shift === wanted;
  };
}
