// SPDX-License-Identifier: Apache-2.0
// PEM blocks with RFC 1421 style headers, as Go's encoding/pem reads and
// writes them. Notary keeps `role:` and `gun:` in such headers, and pre-0.6
// files use `Proc-Type`/`DEK-Info`. Writing follows Go byte for byte:
// `Proc-Type` first, the other headers sorted, a blank line after the headers,
// base64 in 64-character lines, a final newline.
//
// Reading is stricter than Go: duplicate header names and base64 that does not
// decode cleanly are refused, since a key file is never legitimately like that.

export interface PemBlock {
  readonly type: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly bytes: Buffer;
}

export class PemError extends Error {}

const BEGIN_RE = /^-----BEGIN ([A-Z0-9 ]+)-----$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Every PEM block in `text`, in order. Text outside blocks is ignored, as Go does. */
export function parsePemBlocks(text: string): PemBlock[] {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const blocks: PemBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = BEGIN_RE.exec(lines[i]!.trim());
    if (m === null) continue;
    const type = m[1]!;
    const end = `-----END ${type}-----`;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && lines[j]!.trim() !== end) body.push(lines[j++]!);
    if (j >= lines.length) throw new PemError(`PEM block ${type} has no END line`);
    blocks.push(parseBody(type, body));
    i = j;
  }
  return blocks;
}

function parseBody(type: string, body: string[]): PemBlock {
  const headers = new Map<string, string>();
  let k = 0;
  for (; k < body.length; k++) {
    const line = body[k]!;
    const colon = line.indexOf(':');
    if (colon < 0) break;
    const name = line.slice(0, colon).trim();
    if (headers.has(name)) throw new PemError(`PEM block ${type} repeats the header ${name}`);
    headers.set(name, line.slice(colon + 1).trim());
  }
  const b64 = body.slice(k).join('').replace(/\s+/g, '');
  if (!BASE64_RE.test(b64) || b64.length % 4 !== 0) throw new PemError(`PEM block ${type} holds invalid base64`);
  return { type, headers, bytes: Buffer.from(b64, 'base64') };
}

/** Go's pem.Encode. */
export function encodePem(block: PemBlock): string {
  let out = `-----BEGIN ${block.type}-----\n`;
  const names = [...block.headers.keys()].filter((n) => n !== 'Proc-Type').sort();
  if (block.headers.has('Proc-Type')) names.unshift('Proc-Type');
  for (const n of names) out += `${n}: ${block.headers.get(n)!}\n`;
  if (names.length > 0) out += '\n';
  const b64 = block.bytes.toString('base64');
  for (let i = 0; i < b64.length; i += 64) out += `${b64.slice(i, i + 64)}\n`;
  return `${out}-----END ${block.type}-----\n`;
}
