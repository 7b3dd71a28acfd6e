// SPDX-License-Identifier: Apache-2.0
// Bounded multipart reader for publishes (busboy). Content types as Go's
// Request.MultipartReader accepts them (multipart/form-data or
// multipart/mixed with a boundary); each part is checked as soon as it is
// complete, in order, so the first bad part decides the answer as in notary.
// Limits (--max-upload-bytes/--max-part-bytes/--max-upload-parts): the whole
// body, because parts are held in memory until the publish is validated; each
// part, so one file cannot take the whole budget; the part count, because every
// part costs a validation and notary clients send one per changed role.
// A body without a closing boundary gets MALFORMED_UPLOAD (notary's handler
// panics and drops the connection). Busboy skips parts whose
// Content-Disposition is missing or not form-data, which made such a publish an
// empty update answered 200; the delimiters are counted apart, and a body with
// more parts than busboy announced gets notary's NO_FILENAME (after the other
// parts' checks, where notary would answer at that part).

import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import type { UpdatePart } from '../domain/service.js';
import type { UploadLimits } from '../config.js';
import type { ByteBudget } from './upload-budget.js';
import { envelopeVersion, roleFromFilename, type PartFailure } from './upload-parts.js';

type ReadOutcome = { readonly ok: true; readonly parts: UpdatePart[] } | { readonly ok: false; readonly failure: PartFailure; readonly closeConnection: boolean };
/** `release` gives back what the body took of the upload budget; call it once the parts are no longer needed. */
export type UploadResult = ReadOutcome & { readonly release: () => void };

/** Go mime.ParseMediaType, enough for Content-Type: lower-cased type and parameters (token or quoted). */
export function parseMediaType(value: string): { type: string; params: Map<string, string> } | null {
  const [head, ...rest] = value.split(';');
  const type = (head ?? '').trim().toLowerCase();
  if (!/^[a-z0-9!#$%&'*+.^_`|~-]+\/[a-z0-9!#$%&'*+.^_`|~-]+$/.test(type)) return null;
  const params = new Map<string, string>();
  const re = /\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]+))\s*(?:;|$)/y;
  const text = rest.join(';');
  let pos = 0;
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m === null) return null;
    const key = (m[1] ?? '').toLowerCase();
    if (params.has(key)) return null;
    params.set(key, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? ''));
    pos = re.lastIndex;
  }
  return { type, params };
}

/**
 * Counts the parts of a multipart body as its delimiter lines (`--boundary` at the start of the
 * body or after CRLF) up to the closing one (`--boundary--`), across chunk boundaries.
 */
export class PartCounter {
  readonly #needle: Buffer;
  // A virtual CRLF before the body, so a first delimiter at offset 0 matches like the others.
  #carry: Buffer = Buffer.from('\r\n');
  #delimiters = 0;
  #closed = false;

  constructor(boundary: string) {
    this.#needle = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  /** Parts seen so far: delimiters before the closing one. */
  get parts(): number {
    return Math.max(0, this.#delimiters - (this.#closed ? 1 : 0));
  }

  push(chunk: Buffer): void {
    if (this.#closed) return; // the epilogue is not parsed
    const buf = this.#carry.length === 0 ? chunk : Buffer.concat([this.#carry, chunk]);
    let from = 0;
    for (;;) {
      const at = buf.indexOf(this.#needle, from);
      if (at === -1) break;
      const after = at + this.#needle.length;
      if (after + 2 > buf.length) {
        this.#carry = buf.subarray(at); // whether it closes is in the next chunk
        return;
      }
      this.#delimiters++;
      if (buf[after] === 0x2d && buf[after + 1] === 0x2d) {
        this.#closed = true;
        return;
      }
      from = after;
    }
    // Keep what could be the start of a delimiter that continues in the next chunk.
    this.#carry = buf.subarray(Math.max(from, buf.length - this.#needle.length - 1));
  }
}

/** Too many publish bodies held at once (--max-upload-bytes-in-flight): come back shortly. */
const BUSY: PartFailure = { code: 'UNAVAILABLE', detail: 'too many publishes in progress on this server (--max-upload-bytes-in-flight); retry shortly' };

const malformed = (detail?: string): PartFailure => (detail === undefined ? { code: 'MALFORMED_UPLOAD' } : { code: 'MALFORMED_UPLOAD', detail });

export function readUpload(req: IncomingMessage, limits: UploadLimits, budget: ByteBudget): Promise<UploadResult> {
  const lease = budget.lease();
  const { release } = lease;
  const media = parseMediaType(req.headers['content-type'] ?? '');
  const boundary = media?.params.get('boundary');
  if (media === null || (media.type !== 'multipart/form-data' && media.type !== 'multipart/mixed') || boundary === undefined || boundary === '' || /["\\\r\n]/.test(boundary)) {
    return Promise.resolve({ ok: false, failure: malformed(), closeConnection: false, release });
  }
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limits.maxBodyBytes) {
    return Promise.resolve({ ok: false, failure: malformed(`request body is ${declared} bytes; this server accepts at most ${limits.maxBodyBytes} (--max-upload-bytes)`), closeConnection: true, release });
  }
  // A declared length is taken from the budget up front; a chunked body takes it as it arrives.
  if (declared > 0 && !lease.take(declared)) return Promise.resolve({ ok: false, failure: BUSY, closeConnection: true, release });
  const chunked = !(declared > 0);

  return new Promise<UploadResult>((resolve) => {
    const parts: UpdatePart[] = [];
    let done = false;
    let received = 0;
    let announced = 0;
    const counter = new PartCounter(boundary);
    const bb = busboy({
      // Busboy only knows form-data; multipart/mixed has the same framing.
      headers: { 'content-type': `multipart/form-data; boundary="${boundary}"` },
      preservePath: true,
      defParamCharset: 'utf8',
      limits: { files: limits.maxParts, fileSize: limits.maxPartBytes, fieldSize: 1024, headerPairs: 64 },
    });

    const finish = (result: ReadOutcome): void => {
      if (done) return;
      done = true;
      req.off('data', count);
      if (!result.ok) {
        release();
        req.unpipe(bb);
        bb.removeAllListeners();
        bb.on('error', () => undefined);
        req.resume(); // discard the rest; the connection is closed after the answer if asked
      }
      resolve({ ...result, release });
    };
    const fail = (failure: PartFailure, closeConnection = false): void => finish({ ok: false, failure, closeConnection });

    const count = (chunk: Buffer): void => {
      received += chunk.length;
      counter.push(chunk);
      if (received > limits.maxBodyBytes) return fail(malformed(`request body exceeds ${limits.maxBodyBytes} bytes (--max-upload-bytes)`), true);
      if (chunked && !lease.take(chunk.length)) fail(BUSY, true);
    };
    req.on('data', count);
    req.on('aborted', () => fail(malformed('request body ended early'), true));
    req.on('error', () => fail(malformed('request body could not be read'), true));

    // Busboy announces part N+1 before part N's stream has ended; checks run strictly in part order.
    let queue: Promise<void> = Promise.resolve();
    const inOrder = (check: () => Promise<void> | void): void => {
      queue = queue.then(() => (done ? undefined : check()));
    };

    bb.on('file', (_field, stream, info) => {
      announced++;
      const named = roleFromFilename(info.filename);
      const chunks: Buffer[] = [];
      let tooLarge = false;
      const complete = new Promise<boolean>((resolveData) => {
        stream.on('data', (c: Buffer) => {
          if (named.ok) chunks.push(c);
        });
        stream.on('limit', () => (tooLarge = true));
        stream.on('end', () => resolveData(true));
        stream.on('error', () => resolveData(false));
      });
      inOrder(async () => {
        if (!named.ok) return fail(named.failure);
        if (!(await complete) || done) return;
        if (tooLarge) return fail(malformed(`metadata file ${named.role} exceeds ${limits.maxPartBytes} bytes (--max-part-bytes)`), true);
        const data = Buffer.concat(chunks);
        if (envelopeVersion(data) === null) return fail({ code: 'MALFORMED_JSON' });
        // notary ignores a client timestamp: the server always signs its own.
        if (named.role !== 'timestamp') parts.push({ role: named.role, data });
      });
    });
    bb.on('field', () => inOrder(() => fail({ code: 'NO_FILENAME' })));
    bb.on('filesLimit', () => fail(malformed(`more than ${limits.maxParts} parts (--max-upload-parts)`), true));
    bb.on('error', () => fail(malformed()));
    bb.on('close', () => inOrder(() => (counter.parts > announced ? fail({ code: 'NO_FILENAME' }) : finish({ ok: true, parts }))));
    req.pipe(bb);
  });
}
