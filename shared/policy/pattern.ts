// SPDX-License-Identifier: Apache-2.0
// Rule patterns: anchored globs over normalised repository names. `*` stays
// inside one path segment, `**` crosses segments; everything else is literal.
// Anchoring matters: `registry.example.com/team/*` must not match
// `evil.com/registry.example.com/team/x`. Specificity decides between
// matching rules: more literal characters win, then fewer wildcards, then
// the earlier rule.

import type { PolicyRule } from './types.js';

export interface CompiledPattern {
  readonly regex: RegExp;
  /** Literal characters: the more, the more specific. */
  readonly literals: number;
  readonly wildcards: number;
  readonly problem: string | null;
}

const ALLOWED = /^[a-z0-9._\-/:*]+$/;
const cache = new Map<string, CompiledPattern>();

export function compilePattern(pattern: string): CompiledPattern {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  let problem: string | null = null;
  if (pattern === '' || pattern.length > 255) problem = 'must be 1 to 255 characters';
  else if (!ALLOWED.test(pattern)) problem = `"${pattern}" may hold only lower-case letters, digits, . _ - / : and * (use the normalised name, e.g. docker.io/library/alpine)`;
  else if (/\*{3,}/.test(pattern)) problem = `"${pattern}": use * (one segment) or ** (any depth), not ***`;
  // A refused pattern matches nothing (and its characters never reach RegExp).
  if (problem !== null) return { regex: /(?!)/, literals: 0, wildcards: 0, problem };
  let source = '^';
  let literals = 0;
  let wildcards = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '*') {
      wildcards++;
      if (pattern[i + 1] === '*') {
        source += '.*';
        i++;
      } else {
        source += '[^/]*';
      }
    } else {
      literals++;
      source += c.replace(/[.\-/:]/g, '\\$&');
    }
  }
  const compiled: CompiledPattern = { regex: new RegExp(source + '$'), literals, wildcards, problem };
  if (cache.size < 10_000) cache.set(pattern, compiled);
  return compiled;
}

/** The most specific rule whose pattern matches `gun`, or undefined. */
export function selectRule(rules: readonly PolicyRule[], gun: string): PolicyRule | undefined {
  let best: PolicyRule | undefined;
  let bestPattern: CompiledPattern | undefined;
  for (const rule of rules) {
    const p = compilePattern(rule.pattern);
    if (!p.regex.test(gun)) continue;
    if (bestPattern === undefined || p.literals > bestPattern.literals || (p.literals === bestPattern.literals && p.wildcards < bestPattern.wildcards)) {
      best = rule;
      bestPattern = p;
    }
  }
  return best;
}
