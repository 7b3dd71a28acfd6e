// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_EXPIRY_SECONDS, expiresAfter, formatExpires, goExpiresText, parseExpires } from '../../shared/time.js';
import { DeserializationError } from '../../shared/errors.js';
import { FIXTURE_NOW } from '../support/paths.js';

const rejects = (text: unknown, why?: RegExp): void => {
  assert.throws(
    () => parseExpires(text, 'signed.expires'),
    (e: unknown) => e instanceof DeserializationError && e.field === 'signed.expires' && (why === undefined || why.test(e.message)),
    String(text),
  );
};

describe('parseExpires', () => {
  test('notary forms: nanoseconds, 7 digits, none, offsets; text kept verbatim', () => {
    const cases: Record<string, number> = {
      '2036-11-19T18:59:49.735982962Z': Date.parse('2036-11-19T18:59:49.735Z'),
      '2029-11-21T18:59:50.0017139Z': Date.parse('2029-11-21T18:59:50.001Z'),
      '2030-01-01T00:00:00Z': Date.parse('2030-01-01T00:00:00Z'),
      '2036-11-20T00:42:46.184581435+05:30': Date.parse('2036-11-19T19:12:46.184Z'),
      '2030-01-01T00:00:00-08:00': Date.parse('2030-01-01T08:00:00Z'),
      '2030-01-01T00:00:00.9999999999999Z': Date.parse('2030-01-01T00:00:00.999Z'),
      '2024-02-29T23:59:59Z': Date.parse('2024-02-29T23:59:59Z'),
      '0001-01-01T00:00:00Z': Date.parse('0001-01-01T00:00:00Z'),
      '0050-06-01T00:00:00Z': Date.parse('0050-06-01T00:00:00Z'), // year 50, not 1950
    };
    for (const [text, ms] of Object.entries(cases)) {
      const e = parseExpires(text, 'x');
      assert.equal(e.text, text);
      assert.equal(e.ms, ms, text);
    }
  });

  test('strict: zone required, upper-case T and Z, dot fraction only, ranges checked', () => {
    rejects('2030-01-01T00:00:00', /with a zone/);
    rejects('2030-01-01t00:00:00Z');
    rejects('2030-01-01T00:00:00z');
    rejects('2030-01-01 00:00:00Z');
    rejects('2030-01-01T00:00:00,5Z');
    rejects('2030-01-01T00:00:00.Z');
    rejects('2030-01-01T00:00Z');
    rejects('2030-1-01T00:00:00Z');
    rejects('2030-13-01T00:00:00Z', /month 13/);
    rejects('2030-02-29T00:00:00Z', /day 29/);
    rejects('2030-04-31T00:00:00Z', /day 31/);
    rejects('2030-01-01T24:00:00Z', /time of day/);
    rejects('2030-01-01T00:00:60Z', /time of day/);
    rejects('2030-01-01T00:00:00+24:00', /offset/);
    rejects('2030-01-01T00:00:00+0530');
    rejects(' 2030-01-01T00:00:00Z');
    rejects('2030-01-01T00:00:00Z\n');
    rejects(1893456000);
    rejects(null);
  });

  test('never throws anything but DeserializationError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,12})?(Z|[+-]\d\d:\d\d)?$/)), (s) => {
        try {
          const e = parseExpires(s, 'f');
          assert.ok(Number.isFinite(e.ms));
        } catch (err) {
          assert.ok(err instanceof DeserializationError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('formatExpires', () => {
  test('Go RFC3339Nano in UTC, trailing zeros trimmed', () => {
    assert.equal(formatExpires(new Date('2030-01-01T00:00:00Z')), '2030-01-01T00:00:00Z');
    assert.equal(formatExpires(new Date('2030-01-01T00:00:00.500Z')), '2030-01-01T00:00:00.5Z');
    assert.equal(formatExpires(new Date('2029-11-21T18:59:50.001Z'), 713900), '2029-11-21T18:59:50.0017139Z');
    assert.equal(formatExpires(new Date('2036-11-19T18:59:49.735Z'), 982962), '2036-11-19T18:59:49.735982962Z');
    assert.equal(formatExpires(new Date('2030-01-01T00:00:00Z'), 1), '2030-01-01T00:00:00.000000001Z');
    assert.equal(formatExpires(new Date('0099-03-04T05:06:07Z')), '0099-03-04T05:06:07Z');
  });
  test('refuses what Go cannot marshal or a bad extraNanos', () => {
    assert.throws(() => formatExpires(new Date(NaN)), RangeError);
    assert.throws(() => formatExpires(new Date('+010000-01-01T00:00:00Z')), RangeError);
    assert.throws(() => formatExpires(new Date(0), 1_000_000), RangeError);
    assert.throws(() => formatExpires(new Date(0), 0.5), RangeError);
  });
  test('format then parse returns the same instant', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (d) => {
        const text = formatExpires(d);
        assert.equal(parseExpires(text, 'f').ms, d.getTime());
        assert.equal(goExpiresText(text), text);
      }),
      { numRuns: 300 },
    );
  });
});

describe('goExpiresText', () => {
  test('what Go writes after parsing', () => {
    assert.equal(goExpiresText('2030-01-01T00:00:00.000Z'), '2030-01-01T00:00:00Z');
    assert.equal(goExpiresText('2030-01-01T00:00:00.120+00:00'), '2030-01-01T00:00:00.12Z');
    assert.equal(goExpiresText('2030-01-01T00:00:00-00:00'), '2030-01-01T00:00:00Z');
    assert.equal(goExpiresText('2030-01-01T00:00:00.1234567891+05:30'), '2030-01-01T00:00:00.123456789+05:30');
    assert.equal(goExpiresText('2036-11-19T18:59:49.735982962Z'), '2036-11-19T18:59:49.735982962Z');
  });
});

describe('default lifetimes', () => {
  test('notary table (notary-wire 1.2)', () => {
    assert.deepEqual(DEFAULT_EXPIRY_SECONDS, { root: 315_360_000, targets: 94_608_000, snapshot: 94_608_000, timestamp: 1_209_600 });
  });
  test('expiresAfter matches the fixture timestamp lifetime', () => {
    // the fixture timestamp was signed 2026-11-22T18:59:50Z and expires 14 days later
    const e = expiresAfter(new Date('2026-11-22T18:59:50Z'), DEFAULT_EXPIRY_SECONDS.timestamp);
    assert.equal(e.text, '2026-12-06T18:59:50Z');
    assert.equal(e.ms, Date.parse('2026-12-06T18:59:50Z'));
    assert.ok(e.ms > FIXTURE_NOW.getTime());
    assert.equal(expiresAfter(FIXTURE_NOW, DEFAULT_EXPIRY_SECONDS.root).text, '2036-11-20T12:00:00Z');
  });
});
