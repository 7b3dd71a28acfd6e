// SPDX-License-Identifier: Apache-2.0
// Rule patterns: anchored globs over normalised repository names. `*` stays
// inside one path segment, `**` crosses segments; everything else is literal.
// Anchoring matters: `registry.example.com/team/*` must not match
// `evil.com/registry.example.com/team/x`. Specificity decides between
// matching rules: more literal characters win, then fewer wildcards, then
// the earlier rule. A pattern that can never match a repository name (no
// registry host, Docker Hub's index.docker.io alias, a tag) is refused, with
// the fully qualified form to write instead.

import { isRegistryHost } from './image-reference.js';
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

/**
 * Why `pattern` can never match a repository name, with what to write instead; null when it can.
 * Names are matched as image-reference.ts normalises them: `host[:port]/path`, Docker Hub as
 * `docker.io` with one-component names under `library/`, and no tag. So `alpine`,
 * `library/alpine`, `index.docker.io/...`, `docker.io/alpine` and `...:tag` match nothing: a rule
 * written that way would silently never apply.
 */
function unmatchable(pattern: string): string | null {
  const segments = pattern.split('/');
  const reasons: string[] = [];
  // A `:` after the first `/` can only be a tag: names hold `:` only in the host's port.
  const rest = segments.slice(1).map((s) => s.replace(/:.*$/, ''));
  if (rest.some((s, i) => s !== segments[i + 1])) reasons.push('patterns match repository names, which carry no tag');
  let fixed = [segments[0] ?? '', ...rest];
  const first = fixed[0] ?? '';
  // A first segment with a wildcard may stand for any host (`*/app`, `**`): nothing to say about it.
  const hostless = segments.length === 1 ? !pattern.includes('**') : !first.includes('*') && !isRegistryHost(first);
  if (hostless) {
    if (segments.length === 1 && first.includes(':')) reasons.push('patterns match repository names, which carry no tag');
    reasons.push('it names no registry host, and repository names always start with one (Docker Hub images are docker.io/..., e.g. alpine is docker.io/library/alpine)');
    fixed = segments.length === 1 ? ['docker.io', 'library', first.replace(/:.*$/, '')] : ['docker.io', ...fixed];
  } else if (first === 'index.docker.io') {
    reasons.push('index.docker.io is an alias that image references normalise to docker.io');
    fixed = ['docker.io', ...fixed.slice(1)];
  }
  if (fixed[0] === 'docker.io' && fixed.length === 2 && !(fixed[1] ?? '').includes('**')) {
    reasons.push('Docker Hub names without a namespace live under library/ (alpine is docker.io/library/alpine)');
    fixed = ['docker.io', 'library', ...fixed.slice(1)];
  }
  if (reasons.length === 0) return null;
  return `"${pattern}" can never match an image: ${reasons.join('; ')}. Write ${fixed.join('/')} instead`;
}

export function compilePattern(pattern: string): CompiledPattern {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  let problem: string | null = null;
  if (pattern === '' || pattern.length > 255) problem = 'must be 1 to 255 characters';
  else if (!ALLOWED.test(pattern)) problem = `"${pattern}" may hold only lower-case letters, digits, . _ - / : and * (use the normalised name, e.g. docker.io/library/alpine)`;
  else if (/\*{3,}/.test(pattern)) problem = `"${pattern}": use * (one segment) or ** (any depth), not ***`;
  else problem = unmatchable(pattern);
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
