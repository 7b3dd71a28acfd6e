// SPDX-License-Identifier: Apache-2.0
// File digests as parsed from metadata: each kept as the base64 text it was
// written in (already checked to be canonical and of the right size) and
// decoded on first use. A 10,000-target file holds 20,000 digests; decoding
// them all at parse cost a Buffer and ~1 µs each, where a policy check reads
// one and a publish writes the rest back as the same text (notary-write.ts).

/** A read-only map of algorithm -> digest bytes over base64 text. */
export class Base64Digests implements ReadonlyMap<string, Buffer> {
  readonly #text: ReadonlyMap<string, string>;
  readonly #bytes = new Map<string, Buffer>();

  /** @param text algorithm -> canonical padded base64 (the caller has checked it). */
  constructor(text: ReadonlyMap<string, string>) {
    this.#text = text;
  }

  /** The digests as their base64 text, for writers. */
  get base64(): ReadonlyMap<string, string> {
    return this.#text;
  }

  get size(): number {
    return this.#text.size;
  }

  has(alg: string): boolean {
    return this.#text.has(alg);
  }

  get(alg: string): Buffer | undefined {
    let bytes = this.#bytes.get(alg);
    if (bytes === undefined) {
      const text = this.#text.get(alg);
      if (text === undefined) return undefined;
      this.#bytes.set(alg, (bytes = Buffer.from(text, 'base64')));
    }
    return bytes;
  }

  keys(): MapIterator<string> {
    return this.#text.keys();
  }

  *entries(): MapIterator<[string, Buffer]> {
    for (const alg of this.#text.keys()) yield [alg, this.get(alg)!];
  }

  *values(): MapIterator<Buffer> {
    for (const alg of this.#text.keys()) yield this.get(alg)!;
  }

  [Symbol.iterator](): MapIterator<[string, Buffer]> {
    return this.entries();
  }

  forEach(callback: (value: Buffer, key: string, map: ReadonlyMap<string, Buffer>) => void, thisArg?: unknown): void {
    for (const [alg, bytes] of this.entries()) callback.call(thisArg, bytes, alg, this);
  }
}
