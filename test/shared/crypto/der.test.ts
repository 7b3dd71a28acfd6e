// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as cryptoSign, verify as verifyRaw } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { derToP1363, p1363ToDer } from '../../../shared/crypto/der.js';
import { CryptoError } from '../../../shared/errors.js';

const isEncodingError = (e: unknown): boolean => e instanceof CryptoError && e.code === 'SIGNATURE_ENCODING';
const MESSAGE = Buffer.from('tbs');

describe('p1363ToDer / derToP1363', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });

  it('converts real signatures both ways so OpenSSL verifies them', () => {
    for (const [pair, size] of [
      [p256, 32],
      [p521, 66],
    ] as const) {
      for (let i = 0; i < 20; i++) {
        const raw = cryptoSign('sha256', MESSAGE, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
        const der = p1363ToDer(raw);
        assert.ok(verifyRaw('sha256', MESSAGE, { key: pair.publicKey, dsaEncoding: 'der' }, der));
        assert.deepEqual(derToP1363(der, size), raw);
        const der2 = cryptoSign('sha256', MESSAGE, { key: pair.privateKey, dsaEncoding: 'der' });
        assert.ok(verifyRaw('sha256', MESSAGE, { key: pair.publicKey, dsaEncoding: 'ieee-p1363' }, derToP1363(der2, size)));
        assert.deepEqual(p1363ToDer(derToP1363(der2, size)), der2, 'OpenSSL DER equals ours');
      }
    }
  });

  it('encodes integers minimally with a sign byte when the high bit is set', () => {
    const raw = Buffer.concat([Buffer.alloc(31), Buffer.from([0x80]), Buffer.alloc(31), Buffer.from([0x01])]);
    assert.equal(p1363ToDer(raw).toString('hex'), '3007020200800201' + '01');
    const high = Buffer.concat([Buffer.from([0xff]), Buffer.alloc(31, 1), Buffer.from([0x7f]), Buffer.alloc(31, 2)]);
    const der = p1363ToDer(high);
    assert.equal(der.subarray(0, 5).toString('hex'), '3045022100');
    assert.deepEqual(derToP1363(der, 32), high);
  });

  it('round-trips any r‖s (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (bytes) => {
        const raw = Buffer.from(bytes);
        assert.deepEqual(derToP1363(p1363ToDer(raw), 32), raw);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an odd or empty raw signature', () => {
    assert.throws(() => p1363ToDer(Buffer.alloc(63)), isEncodingError);
    assert.throws(() => p1363ToDer(Buffer.alloc(0)), isEncodingError);
  });

  const refusals: Record<string, string> = {
    'trailing bytes': '3006020101020101' + '00',
    'long-form length': '308106020101020101',
    'a negative r': '3006020180020101',
    'a non-minimal r': '300702020001020101',
    'r longer than the field': '3027022201' + '00'.repeat(33) + '020101',
    'a BIT STRING instead of a SEQUENCE': '0306020101020101',
    'garbage': 'deadbeef',
  };
  for (const [name, hex] of Object.entries(refusals)) {
    it(`derToP1363 refuses ${name}`, () => assert.throws(() => derToP1363(Buffer.from(hex, 'hex'), 32), isEncodingError));
  }

  it('accepts a 0x00 sign byte when the high bit needs it', () => {
    assert.deepEqual(derToP1363(Buffer.from('3007020200800201' + '01', 'hex'), 2), Buffer.from('00800001', 'hex'));
  });
});
