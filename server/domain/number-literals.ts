// SPDX-License-Identifier: Apache-2.0
// Signet refuses metadata whose numbers are not written as canonical integer
// literals (`1`, `-42`, never `1.0`, `1e2`, `-0`, `01`). Go reads `1e2` as 100
// and canonicalises it, so a file and its signed form would disagree about
// what was written; notary lets that through, Signet does not.

// A JSON string (skipped whole, escapes included) or a number token.
const TOKEN = /"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*/g;
const CANONICAL_INTEGER = /^(?:0|-?[1-9][0-9]*)$/;

/** The first number literal in JSON text that is not a canonical safe integer, or null. The text must be valid JSON. */
export function findNonCanonicalNumber(text: string): string | null {
  for (const m of text.matchAll(TOKEN)) {
    const token = m[0];
    if (token.startsWith('"')) continue;
    if (!CANONICAL_INTEGER.test(token) || !Number.isSafeInteger(Number(token))) return token;
  }
  return null;
}
