/**
 * Substitution values, decoded in place from the chunk buffer. Two conventions exist:
 * the evtx_dump JSON one (also used by the flat view, so hunting EVTX and hunting its
 * evtx_dump JSON see the same values) and the text Windows shows in XML.
 */
import { formatGuid, hexUpper } from './binxml.js';
import { trimTrailingSpace } from './trim.js';

export const enum ValueType {
  Null = 0x00,
  String = 0x01,
  AnsiString = 0x02,
  Int8 = 0x03,
  UInt8 = 0x04,
  Int16 = 0x05,
  UInt16 = 0x06,
  Int32 = 0x07,
  UInt32 = 0x08,
  Int64 = 0x09,
  UInt64 = 0x0a,
  Real32 = 0x0b,
  Real64 = 0x0c,
  Bool = 0x0d,
  Binary = 0x0e,
  Guid = 0x0f,
  SizeT = 0x10,
  FileTime = 0x11,
  SysTime = 0x12,
  Sid = 0x13,
  HexInt32 = 0x14,
  HexInt64 = 0x15,
  EvtHandle = 0x20,
  BinXml = 0x21,
  EvtXml = 0x23,
  ArrayFlag = 0x80,
}

/** A decoded value: integers beyond 2^53 stay exact as bigint. */
export type Scalar = string | number | bigint | boolean | null;
export type DecodedValue = Scalar | Scalar[];

const FIXED_SIZES: Record<number, number> = {
  [ValueType.Int8]: 1,
  [ValueType.UInt8]: 1,
  [ValueType.Int16]: 2,
  [ValueType.UInt16]: 2,
  [ValueType.Int32]: 4,
  [ValueType.UInt32]: 4,
  [ValueType.Int64]: 8,
  [ValueType.UInt64]: 8,
  [ValueType.Real32]: 4,
  [ValueType.Real64]: 8,
  [ValueType.Bool]: 4,
  [ValueType.Guid]: 16,
  [ValueType.FileTime]: 8,
  [ValueType.SysTime]: 16,
  [ValueType.HexInt32]: 4,
  [ValueType.HexInt64]: 8,
};

declare global {
  interface Buffer {
    /** Node's UTF-16LE decoder without the argument checks of `toString` (hot path). */
    ucs2Slice(start: number, end: number): string;
  }
}

/** Which rendering a value is decoded for. */
export const enum Style {
  /** evtx_dump JSON and the flat view. */
  Json,
  /** The text of Windows' XML rendering. */
  Xml,
}

/** Decodes the value of `type` stored in `buf[off, off + size)`. BinXML values are handled by the renderers. */
export function decodeValue(buf: Buffer, type: number, off: number, size: number, style: Style): DecodedValue {
  // The types that make up most of real logs first, without the general checks.
  if (type === ValueType.String && style === Style.Json) return substitutionString(buf, off, size);
  if (type === ValueType.UInt32 && size === 4) return (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16)) + buf[off + 3] * 0x1000000;
  if (type === ValueType.UInt16 && size === 2) return buf[off] | (buf[off + 1] << 8);
  if (type === ValueType.UInt8 && size === 1) return buf[off];
  if (type & ValueType.ArrayFlag) return decodeArray(buf, type & 0x7f, off, size, style);
  return decodeScalar(buf, type, off, size, style);
}

function decodeArray(buf: Buffer, type: number, off: number, size: number, style: Style): Scalar[] {
  const out: Scalar[] = [];
  if (type === ValueType.String) {
    return splitNul(utf16(buf, off, size, false));
  }
  if (type === ValueType.AnsiString)
    return splitNul(buf.toString('latin1', off, off + size)).map((s) => ansi(Buffer.from(s, 'latin1'), 0, s.length));
  const width = type === ValueType.SizeT ? 8 : type === ValueType.Sid ? 0 : FIXED_SIZES[type];
  if (type === ValueType.Sid) {
    for (let p = off; p + 8 <= off + size;) {
      const length = 8 + buf[p + 1] * 4;
      out.push(formatSid(buf, p, Math.min(length, off + size - p)));
      p += length;
    }
    return out;
  }
  if (!width) return [hexUpper(buf, off, off + size)];
  for (let p = off; p + width <= off + size; p += width) out.push(decodeScalar(buf, type, p, width, style));
  return out;
}

function decodeScalar(buf: Buffer, type: number, off: number, size: number, style: Style): Scalar {
  if (size === 0 && type !== ValueType.String && type !== ValueType.AnsiString && type !== ValueType.Binary) return null;
  const fixed = FIXED_SIZES[type];
  if (fixed !== undefined && size < fixed && type !== ValueType.Bool) return hexUpper(buf, off, off + size);
  switch (type) {
    case ValueType.Null:
      return null;
    case ValueType.String:
      return style === Style.Json ? substitutionString(buf, off, size) : utf16(buf, off, size, true);
    case ValueType.AnsiString:
      return ansi(buf, off, size);
    case ValueType.Int8:
      return buf.readInt8(off);
    case ValueType.UInt8:
      return buf[off];
    case ValueType.Int16:
      return buf.readInt16LE(off);
    case ValueType.UInt16:
      return buf.readUInt16LE(off);
    case ValueType.Int32:
      return buf.readInt32LE(off);
    case ValueType.UInt32:
      return buf.readUInt32LE(off);
    case ValueType.Int64:
      return int64(buf, off, true);
    case ValueType.UInt64:
      return int64(buf, off, false);
    case ValueType.Real32:
      // evtx_dump widens f32 to f64 in JSON; Windows prints the shortest f32 text.
      return style === Style.Json ? buf.readFloatLE(off) : shortestFloat32(buf.readFloatLE(off));
    case ValueType.Real64:
      return buf.readDoubleLE(off);
    case ValueType.Bool:
      return size >= 4 ? buf.readUInt32LE(off) !== 0 : buf[off] !== 0;
    case ValueType.Binary:
      return hexUpper(buf, off, off + size);
    case ValueType.Guid:
      return style === Style.Xml ? `{${formatGuid(buf, off).toLowerCase()}}` : formatGuid(buf, off);
    case ValueType.SizeT:
      if (size < 4) return hexUpper(buf, off, off + size);
      return size >= 8 ? hex64(buf, off) : '0x' + buf.readUInt32LE(off).toString(16);
    case ValueType.FileTime:
      return formatFiletime(buf.readUInt32LE(off), buf.readUInt32LE(off + 4), style === Style.Xml ? 7 : 6);
    case ValueType.SysTime:
      return formatSystemtime(buf, off, style === Style.Xml ? 7 : 6);
    case ValueType.Sid:
      return formatSid(buf, off, size);
    case ValueType.HexInt32:
      return '0x' + buf.readUInt32LE(off).toString(16);
    case ValueType.HexInt64:
      return hex64(buf, off);
    case ValueType.EvtHandle:
      if (size < 4) return hexUpper(buf, off, off + size);
      return size >= 8 ? int64(buf, off, false) : buf.readUInt32LE(off);
    case ValueType.EvtXml:
      return utf16(buf, off, size, true);
    default:
      return hexUpper(buf, off, off + size);
  }
}

/**
 * A string substitution as evtx_dump (>= 0.8.5) shows it: cut at the first NUL, trailing
 * whitespace trimmed (Windows pads some values, e.g. LogonProcessName "Advapi  ").
 */
export function substitutionString(buf: Buffer, off: number, size: number): string {
  let text = utf16(buf, off, size, true);
  const nul = text.indexOf('\0');
  if (nul >= 0) text = text.slice(0, nul);
  return trimTrailingSpace(text);
}

/** UTF-16LE text; values carry a NUL terminator that is not part of the text. */
export function utf16(buf: Buffer, off: number, size: number, trimNul: boolean): string {
  let end = off + (size & ~1);
  if (trimNul) while (end > off && buf[end - 2] === 0 && buf[end - 1] === 0) end -= 2;
  return end > off ? buf.ucs2Slice(off, end) : '';
}

/** ANSI (code page 1252) text; NUL bytes are dropped wherever they are, as evtx_dump does. */
function ansi(buf: Buffer, off: number, size: number): string {
  let s = '';
  for (let i = off; i < off + size; i++) {
    const b = buf[i];
    if (b === 0) continue;
    s += b >= 0x80 && b < 0xa0 ? CP1252_80_9F[b - 0x80] : String.fromCharCode(b);
  }
  return s;
}

/** Items of a NUL-separated (and NUL-terminated) string array. */
function splitNul(text: string): string[] {
  if (text.length === 0) return [];
  const parts = text.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

const CP1252_80_9F = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';

function int64(buf: Buffer, off: number, signed: boolean): number | bigint {
  const lo = buf.readUInt32LE(off);
  const hi = signed ? buf.readInt32LE(off + 4) : buf.readUInt32LE(off + 4);
  if (hi >= -0x200000 && hi < 0x200000) return hi * 0x1_0000_0000 + lo;
  return signed ? buf.readBigInt64LE(off) : buf.readBigUInt64LE(off);
}

export function hex64(buf: Buffer, off: number): string {
  const hi = buf.readUInt32LE(off + 4);
  const lo = buf.readUInt32LE(off);
  return '0x' + (hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, '0'));
}

/** The shortest decimal that reads back as the same 32-bit float (what Rust prints for f32). */
function shortestFloat32(value: number): number {
  if (!Number.isFinite(value)) return value;
  for (let digits = 1; digits < 10; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

const EPOCH_DIFF_SECONDS = 11644473600;

/** FILETIME (100 ns ticks since 1601) as ISO 8601 UTC with `digits` fractional digits. */
export function formatFiletime(lo: number, hi: number, digits: 6 | 7): string {
  let seconds: number;
  let ticks: number;
  if (hi < 0x1000_0000) {
    // hi * 2^32 = hi * 429 * 10^7 + hi * 4967296, kept below 2^53.
    const rest = hi * 4967296 + lo;
    seconds = hi * 429 + Math.floor(rest / 1e7);
    ticks = rest % 1e7;
  } else {
    const all = (BigInt(hi) << 32n) | BigInt(lo);
    seconds = Number(all / 10_000_000n);
    ticks = Number(all % 10_000_000n);
  }
  return isoSeconds(seconds - EPOCH_DIFF_SECONDS) + fraction(ticks, digits);
}

/** SYSTEMTIME as ISO 8601; all zeros is 1601-01-01 (as evtx_dump); an impossible date is shown as hex. */
function formatSystemtime(buf: Buffer, off: number, digits: 6 | 7): string {
  const [year, month, , day, hour, minute, second, ms] = [0, 2, 4, 6, 8, 10, 12, 14].map((d) => buf.readUInt16LE(off + d));
  if (year === 0 && month === 0 && day === 0 && hour === 0 && minute === 0 && second === 0 && ms === 0) {
    return '1601-01-01T00:00:00' + fraction(0, digits);
  }
  const valid =
    month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hour < 24 && minute < 60 && second < 60 && ms < 1000;
  if (!valid) return hexUpper(buf, off, off + 16);
  const date = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}`;
  return date + fraction(ms * 10000, digits);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * Records of a chunk are written close together, and a record's times (header, TimeCreated)
 * share their second: remembering the last two seconds saves most Date work.
 */
const recentSeconds = [NaN, NaN];
const recentIso = ['', ''];
let recentSlot = 0;

function isoSeconds(unixSeconds: number): string {
  if (unixSeconds === recentSeconds[0]) return recentIso[0];
  if (unixSeconds === recentSeconds[1]) return recentIso[1];
  const date = new Date(unixSeconds * 1000);
  // Years past 9999 come out as "+060056-…": cut after the seconds, wherever they are.
  const full = Number.isNaN(date.getTime()) ? undefined : date.toISOString();
  const iso = full === undefined ? String(unixSeconds) : full.slice(0, full.indexOf('T') + 9);
  recentSlot ^= 1;
  recentSeconds[recentSlot] = unixSeconds;
  recentIso[recentSlot] = iso;
  return iso;
}

const FRACTION_PAD = ['', '0', '00', '000', '0000', '00000', '000000', '0000000'];

function fraction(ticks: number, digits: 6 | 7): string {
  const text = String(digits === 6 ? Math.floor(ticks / 10) : ticks);
  return '.' + FRACTION_PAD[digits - text.length] + text + 'Z';
}

/** A SID in its S-R-I-S-S… string form. */
export function formatSid(buf: Buffer, off: number, size: number): string {
  if (size < 8) return hexUpper(buf, off, off + size);
  const count = buf[off + 1];
  if (8 + count * 4 > size) return hexUpper(buf, off, off + size);
  const authority = buf.readUInt16BE(off + 2) * 0x1_0000_0000 + buf.readUInt32BE(off + 4);
  let s = `S-${buf[off]}-${authority}`;
  for (let i = 0; i < count; i++) s += '-' + buf.readUInt32LE(off + 8 + i * 4);
  return s;
}
