// SPDX-License-Identifier: Apache-2.0
// `expires` values: parsing untrusted RFC 3339 text, writing Go's RFC3339Nano,
// and the default lifetimes Notary gives each role (notary-wire.md 1.2).
//
// The source text of a parsed `expires` is kept verbatim (model.ts `Expiry`),
// because Notary writes nanoseconds and local offsets that a JS Date cannot
// hold; the millisecond epoch beside it is only for comparisons.
// Stricter than Go's time.Parse: a zone is required (Go's RFC 3339 layout
// needs one too), only `.` introduces a fraction (Go >= 1.17 also takes `,`),
// `T` and `Z` must be upper case, and every field is range-checked.

import { DeserializationError } from './errors.js';
import type { Expiry, TopLevelRole } from './tuf/model.js';

const DAY_SECONDS = 24 * 60 * 60;

/** Default lifetime of freshly signed metadata, in seconds (notary `NotaryDefaultExpiries`). */
export const DEFAULT_EXPIRY_SECONDS: Readonly<Record<TopLevelRole, number>> = Object.freeze({
  root: 10 * 365 * DAY_SECONDS,
  targets: 3 * 365 * DAY_SECONDS, // also every delegation
  snapshot: 3 * 365 * DAY_SECONDS,
  timestamp: 14 * DAY_SECONDS,
});

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

interface Parts {
  readonly date: string; // YYYY-MM-DDTHH:MM:SS
  readonly fraction: string; // digits after the dot, possibly empty
  readonly offsetMinutes: number;
  readonly zoneText: string; // `Z` or `±hh:mm`
  readonly ms: number;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function splitRfc3339(text: string, field: string): Parts {
  const m = RFC3339.exec(text);
  const fail = (why: string): never => {
    throw new DeserializationError(field, `must be an RFC 3339 date-time with a zone such as 2030-01-01T00:00:00Z (${why})`);
  };
  if (m === null) return fail(`got ${JSON.stringify(text.length > 40 ? text.slice(0, 40) + '…' : text)}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12) fail(`month ${month} is out of range`);
  if (day < 1 || day > daysInMonth(year, month)) fail(`day ${day} is out of range`);
  if (hour > 23 || minute > 59 || second > 59) fail('time of day is out of range');
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) fail('zone offset is out of range');
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const fraction = m[7] ?? '';
  const d = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, Number(fraction.slice(0, 3).padEnd(3, '0')));
  return {
    date: text.slice(0, 19),
    fraction,
    offsetMinutes,
    zoneText: m[8] ?? text.slice(text.length - 6),
    ms: d.getTime() - offsetMinutes * 60_000,
  };
}

/**
 * Parse an untrusted `expires` value.
 * @throws {DeserializationError} naming `field` when the text is not RFC 3339 with a zone.
 */
export function parseExpires(text: unknown, field: string): Expiry {
  if (typeof text !== 'string') throw new DeserializationError(field, 'must be an RFC 3339 date-time string');
  return { text, ms: splitRfc3339(text, field).ms };
}

function trimFraction(digits: string): string {
  const t = digits.slice(0, 9).replace(/0+$/, ''); // Go keeps nanoseconds and drops trailing zeros
  return t === '' ? '' : '.' + t;
}

/**
 * Go RFC3339Nano in UTC: `2029-11-21T18:59:49.858363294Z`, trailing zeros of the
 * fraction trimmed, no fraction when it is zero. `extraNanos` (0-999999) adds
 * precision below the millisecond a Date holds.
 * @throws {RangeError} for an invalid date, a year outside 0-9999 (Go refuses to marshal those) or bad extraNanos.
 */
export function formatExpires(date: Date, extraNanos = 0): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('expires: invalid date');
  if (!Number.isInteger(extraNanos) || extraNanos < 0 || extraNanos > 999_999) {
    throw new RangeError(`expires: extraNanos must be an integer 0-999999, got ${extraNanos}`);
  }
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`expires: year ${year} is outside 0-9999`);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const nanos = date.getUTCMilliseconds() * 1_000_000 + extraNanos;
  return (
    `${String(year).padStart(4, '0')}-${p2(date.getUTCMonth() + 1)}-${p2(date.getUTCDate())}` +
    `T${p2(date.getUTCHours())}:${p2(date.getUTCMinutes())}:${p2(date.getUTCSeconds())}` +
    `${trimFraction(String(nanos).padStart(9, '0'))}Z`
  );
}

/**
 * The text Go writes after parsing `text` and marshalling it again: the same
 * instant and offset, the fraction cut to nanoseconds with trailing zeros
 * trimmed, and a zero offset written as `Z`. Writers use it so that what they
 * sign is what a Go re-serialisation produces (notary-wire.md 1.8).
 * @throws {DeserializationError} when `text` is not a valid `expires`.
 */
export function goExpiresText(text: string, field = 'expires'): string {
  const p = splitRfc3339(text, field);
  return p.date + trimFraction(p.fraction) + (p.offsetMinutes === 0 ? 'Z' : p.zoneText);
}

/** An expiry `seconds` after `now`, written in Go's UTC form. */
export function expiresAfter(now: Date, seconds: number): Expiry {
  const d = new Date(now.getTime() + seconds * 1000);
  return { text: formatExpires(d), ms: d.getTime() };
}
