// SPDX-License-Identifier: Apache-2.0
// Property tests: whatever the input, parse returns a value or throws a
// DeserializationError (never a TypeError or RangeError); what parses, encodes
// and re-parses to the same signed bytes; HTML-sensitive characters survive.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { notaryCodec } from '../../../shared/codec/notary.js';
import { DeserializationError, SerializationError } from '../../../shared/errors.js';
import { canonicalize } from '../../../shared/json/canonical.js';
import type { JSONValue } from '../../../shared/json/types.js';
import type { Envelope, Targets } from '../../../shared/tuf/model.js';
import { parseExpires } from '../../../shared/time.js';
import { metadataFixtures, type Tree } from './notary-helpers.js';

const RUNS = Number(process.env.H1_RUNS ?? 200);
const fixtures = metadataFixtures().filter((f) => f.name.startsWith('server/'));

/** Parse; a DeserializationError is an acceptable outcome, anything else fails the property. */
function parseOrReject(run: () => Envelope): Envelope | null {
  try {
    return run();
  } catch (e) {
    if (e instanceof DeserializationError) {
      assert.equal(typeof e.field, 'string');
      return null;
    }
    throw e;
  }
}

/** What parses must encode (unless Go could not write it either) and re-parse to the same signed bytes. */
function checkRoundTrip(env: Envelope, roleName: string): void {
  let file: Buffer;
  try {
    file = notaryCodec.encode(env.signedTree, env.signatures);
  } catch (e) {
    assert.ok(e instanceof SerializationError, String(e));
    return;
  }
  const again = notaryCodec.parse(file, env.signed.type, { roleName });
  assert.ok(again.signedBytes!.equals(env.signedBytes!));
  assert.ok(notaryCodec.encode(again.signedTree, again.signatures).equals(file));
}

type PathStep = string | number;
function paths(v: unknown, prefix: PathStep[] = []): PathStep[][] {
  const out: PathStep[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) out.push(...paths((v as Tree)[k], [...prefix, k]));
  return out;
}

function otherType(v: unknown): JSONValue {
  if (typeof v === 'string') return 7;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return null;
  if (v === null) return {};
  if (Array.isArray(v)) return { 0: 'x' };
  return ['x'];
}

type Op = 'delete' | 'retype' | 'replace';

function applyMutation(doc: Tree, path: PathStep[], op: Op, value: JSONValue): JSONValue {
  if (path.length === 0) return op === 'retype' ? otherType(doc) : value;
  let parent: Tree = doc;
  for (const step of path.slice(0, -1)) parent = parent[step as string];
  const last = path[path.length - 1]!;
  if (op === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last as string];
  } else parent[last as string] = op === 'retype' ? otherType(parent[last as string]) : value;
  return doc as JSONValue;
}

describe('parse never throws anything but DeserializationError', () => {
  test('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        parseOrReject(() => notaryCodec.parseAny(b));
      }),
      { numRuns: RUNS },
    );
  });

  test('arbitrary JSON values, bare and inside an envelope with a real _type', () => {
    const typeName = fc.constantFrom('Root', 'Targets', 'Snapshot', 'Timestamp');
    const body = fc.record({ _type: typeName, version: fc.oneof(fc.integer(), fc.jsonValue()), expires: fc.oneof(fc.constant('2030-01-01T00:00:00Z'), fc.jsonValue()) }).chain((common) =>
      fc.dictionary(fc.constantFrom('keys', 'roles', 'targets', 'delegations', 'meta', 'consistent_snapshot', 'x'), fc.jsonValue({ maxDepth: 3 })).map((rest) => ({ ...rest, ...common })),
    );
    const doc = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.record({ signed: body, signatures: fc.oneof(fc.constant([]), fc.jsonValue({ maxDepth: 2 })) }));
    fc.assert(
      fc.property(doc, fc.constantFrom('targets', 'targets/a', 'root'), (v, roleName) => {
        const env = parseOrReject(() => notaryCodec.parseAny(Buffer.from(JSON.stringify(v)), { roleName }));
        if (env !== null) checkRoundTrip(env, roleName);
      }),
      { numRuns: RUNS },
    );
  });

  test('random mutations of the fixture files (delete a member, change a type, replace with random JSON)', () => {
    const trees = fixtures.map((f) => ({ f, paths: paths(JSON.parse(f.bytes.toString('utf8'))) }));
    fc.assert(
      fc.property(
        fc.nat({ max: trees.length - 1 }),
        fc.nat(),
        fc.constantFrom<Op>('delete', 'retype', 'replace'),
        fc.jsonValue({ maxDepth: 2 }),
        (fi, pi, op, value) => {
          const { f, paths: ps } = trees[fi]!;
          const path = ps[pi % ps.length]!;
          const doc = applyMutation(JSON.parse(f.bytes.toString('utf8')) as Tree, path, op, value as JSONValue);
          const env = parseOrReject(() => notaryCodec.parse(Buffer.from(JSON.stringify(doc)), f.type, { roleName: f.role }));
          if (env !== null) checkRoundTrip(env, f.role);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('random byte edits of the fixture files', () => {
    fc.assert(
      fc.property(fc.nat({ max: fixtures.length - 1 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (fi, pos, byte) => {
        const f = fixtures[fi]!;
        const b = Buffer.from(f.bytes);
        b[pos % b.length] = byte;
        const env = parseOrReject(() => notaryCodec.parse(b, f.type, { roleName: f.role }));
        if (env !== null) checkRoundTrip(env, f.role);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('HTML-sensitive and control characters in target names and custom data', () => {
  const unit = fc.constantFrom('a', '/', '<', '>', '&', '\u2028', '\u2029', '"', '\\', 'é', '😀', '\u007f', '\n', '\u0000', '\t');
  const text = fc.string({ unit, maxLength: 8 });
  const custom = fc.dictionary(text, fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 3 });
  const expires = parseExpires('2030-01-01T00:00:00Z', 'expires');

  test('stored bytes are HTML-escaped, signed bytes raw; parse -> encode keeps both; control characters are refused', () => {
    fc.assert(
      fc.property(fc.dictionary(text, fc.option(custom, { nil: undefined }), { maxKeys: 3 }), (entries) => {
        const targets: Targets['targets'] = new Map(
          Object.entries(entries).map(([name, c]) => [name, { length: 1, hashes: new Map([['sha256', Buffer.alloc(32, 1)]]), ...(c === undefined ? {} : { custom: c }) }]),
        );
        const tree = notaryCodec.toSignedTree({ type: 'targets', version: 1, expires, targets, delegations: null });
        // canonical JSON writes control characters raw, so this is exactly "Go could not write it"
        const hasControl = /[\u0000-\u001f]/.test(canonicalize(tree).toString('utf8'));
        let file: Buffer;
        try {
          file = notaryCodec.encode(tree, []);
        } catch (e) {
          assert.ok(e instanceof SerializationError && hasControl, String(e));
          return;
        }
        assert.equal(hasControl, false);
        assert.doesNotMatch(file.toString('utf8'), /[<>&\u2028\u2029]/);
        const env = notaryCodec.parseAny(file);
        assert.ok(env.signedBytes!.equals(canonicalize(tree)));
        assert.ok(notaryCodec.encode(env.signedTree, env.signatures).equals(file));
        const model = env.signed as Targets;
        assert.deepEqual([...model.targets.keys()].sort(), Object.keys(entries).sort());
        for (const [name, c] of Object.entries(entries)) {
          const got = model.targets.get(name)!.custom;
          // fast-check may build null-prototype objects, so compare canonical forms
          assert.equal(got === undefined ? undefined : canonicalize(got).toString(), c === undefined ? undefined : canonicalize(c).toString());
        }
      }),
      { numRuns: RUNS },
    );
  });
});
