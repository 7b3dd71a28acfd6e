// SPDX-License-Identifier: Apache-2.0
// JSON text exactly as Go's encoding/json (1.19) writes it, for the small
// structures the client writes outside metadata (changelist entries, FileMeta
// blobs): HTML-escaped `<>&`, U+2028/2029 escaped, `\n \r \t` short escapes,
// other control bytes as lower-case `\u00xx`, everything else raw UTF-8, lone
// surrogates as U+FFFD. Metadata files are not written here: that is the codec's job.

const HEX = '0123456789abcdef';

export function goJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0x22) out += '\\"';
      else if (c === 0x5c) out += '\\\\';
      else if (c === 0x0a) out += '\\n';
      else if (c === 0x0d) out += '\\r';
      else if (c === 0x09) out += '\\t';
      else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) out += '\\u00' + HEX[c >> 4]! + HEX[c & 0xf]!;
      else out += s[i]!;
    } else if (c === 0x2028 || c === 0x2029) {
      out += c === 0x2028 ? '\\u2028' : '\\u2029';
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
      } else out += '\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) out += '\ufffd';
    else out += s[i]!;
  }
  return out + '"';
}

/** Go's encoding of a `[]byte`: padded standard base64, or null for nil. */
export function goJsonBytes(b: Uint8Array | null): string {
  return b === null ? 'null' : '"' + Buffer.from(b).toString('base64') + '"';
}
