/** Query and body values, checked: a bad one is a 400 that names it. */
import { timeOf } from '@firebreak/core';
import { badRequest } from './errors.js';

export function intParam(
  query: URLSearchParams,
  name: string,
  options: { min: number; max: number; fallback?: number },
): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return options.fallback;
  return checkedInt(Number(raw), name, options);
}

export function checkedInt(value: unknown, name: string, { min, max }: { min: number; max: number }): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw badRequest(`"${name}" must be an integer from ${min} to ${max}`);
  return value;
}

/** A time query parameter (see parseTime). */
export function timeParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  return raw === null || raw === '' ? undefined : parseTime(raw, name);
}

/** A time as events write one (core's reader: ISO 8601, UTC when no zone is named, or seconds or ms since the epoch). */
export function parseTime(raw: unknown, name: string): number {
  const time = timeOf(raw);
  if (time === undefined) throw badRequest(`"${name}" must be an ISO 8601 time or a number of seconds or milliseconds since the epoch`);
  return time;
}

/** A stored object's id from the path. */
export function idParam(raw: string | undefined, name = 'id'): number {
  return checkedInt(Number(raw), name, { min: 1, max: Number.MAX_SAFE_INTEGER });
}

/** Rows one listing returns at most. */
export const MAX_PAGE = 1000;

export function oneOf<T extends string>(raw: string | null | undefined, name: string, allowed: readonly T[]): T | undefined {
  if (raw === null || raw === undefined || raw === '') return undefined;
  if (!(allowed as readonly string[]).includes(raw)) throw badRequest(`"${name}" must be one of ${allowed.join(', ')}`);
  return raw as T;
}

export function objectBody(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badRequest('the body must be a JSON object');
  return value as Record<string, unknown>;
}

export function optionalString(body: Record<string, unknown>, name: string, maxLength: number): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > maxLength)
    throw badRequest(`"${name}" must be a string of at most ${maxLength} characters`);
  return value;
}

/** `field.Image=x&field.User=y` → { Image: 'x', User: 'y' }. */
export function fieldFilters(query: URLSearchParams): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const [key, value] of query) if (key.startsWith('field.') && key.length > 6) (out ??= {})[key.slice(6)] = value;
  return out;
}
