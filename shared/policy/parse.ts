// SPDX-License-Identifier: Apache-2.0
// Policy files (YAML, or JSON, which YAML 1.2 reads too) -> Policy. Strict:
// unknown keys, duplicate keys, wrong types and impossible thresholds are
// refused with the file's line, so a typo never silently weakens a rule.
//
//   default: deny                  # allow | deny (default deny)
//   defaultMode: enforce           # enforce | warn, for images no rule matches
//   teams: { qa: targets/qa }      # team name -> role
//   rules:                         # patterns: fully qualified names (docker.io/library/alpine)
//     - pattern: registry.example.com/team/*
//       roles: [targets/jenkins]   # and/or
//       teams: [qa]                # expanded to roles
//       threshold: 2               # default: all of them
//       mode: enforce              # enforce | warn
//       pinnedRootKeys: [<key id>] # optional
//       pinnedCA: <PEM> or [<PEM>] # optional
//       maxMetadataAge: 24h        # optional: seconds, or <n>s|m|h|d

import { X509Certificate } from 'node:crypto';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type Pair } from 'yaml';
import { PolicyError } from '../errors.js';
import type { Policy, PolicyDefault, PolicyMode, PolicyRule } from './types.js';
import { compilePattern } from './pattern.js';

const ROLE = /^targets(?:\/[^/\s*]+)+$|^targets$/;
const TEAM = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const KEY_ID = /^[a-f0-9]{64}$/;
const AGE = /^([0-9]{1,9})([smhd]?)$/;
const AGE_UNIT: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };
const MAX_RULES = 10_000;

type Located = { readonly node: unknown; readonly line: number };

class Reader {
  readonly #file: string;
  readonly #lines: LineCounter;
  constructor(file: string, lines: LineCounter) {
    this.#file = file;
    this.#lines = lines;
  }
  line(node: unknown): number {
    const range = (node as Node | null)?.range;
    return range === undefined || range === null ? 0 : this.#lines.linePos(range[0]).line;
  }
  fail(node: unknown, reason: string, fallbackLine = 0): never {
    const line = this.line(node);
    throw new PolicyError(this.#file, line > 0 ? line : fallbackLine, reason);
  }
  /** Map entries by key, refusing keys outside `allowed`. */
  map(node: unknown, where: string, allowed: readonly string[], fallbackLine = 0): Map<string, Located> {
    if (!isMap(node)) this.fail(node, `${where} must be a mapping`, fallbackLine);
    const out = new Map<string, Located>();
    for (const pair of node.items as Pair[]) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if (typeof key !== 'string') this.fail(pair.key, `${where}: keys must be strings`, this.line(node));
      if (!allowed.includes(key)) this.fail(pair.key, `${where}: unknown key "${key}" (allowed: ${allowed.join(', ')})`);
      out.set(key, { node: pair.value, line: this.line(pair.key) });
    }
    return out;
  }
  string(entry: Located, where: string): string {
    if (!isScalar(entry.node) || typeof entry.node.value !== 'string') this.fail(entry.node, `${where} must be a string`, entry.line);
    return entry.node.value;
  }
  oneOf<T extends string>(entry: Located | undefined, where: string, values: readonly T[], fallback: T): T {
    if (entry === undefined) return fallback;
    const s = this.string(entry, where);
    if (!(values as readonly string[]).includes(s)) this.fail(entry.node, `${where} must be one of ${values.join(', ')}, not "${s}"`, entry.line);
    return s as T;
  }
  strings(entry: Located | undefined, where: string): { value: string; line: number }[] {
    if (entry === undefined) return [];
    if (isScalar(entry.node) && typeof entry.node.value === 'string') return [{ value: entry.node.value, line: entry.line }];
    if (!isSeq(entry.node)) this.fail(entry.node, `${where} must be a list of strings`, entry.line);
    return entry.node.items.map((item) => ({ value: this.string({ node: item, line: entry.line }, `each entry of ${where}`), line: this.line(item) || entry.line }));
  }
}

function parseAge(reader: Reader, entry: Located): number {
  const raw = isScalar(entry.node) ? entry.node.value : undefined;
  const m = typeof raw === 'number' ? AGE.exec(String(raw)) : typeof raw === 'string' ? AGE.exec(raw) : null;
  const seconds = m === null ? 0 : Number(m[1]) * (AGE_UNIT[m[2] ?? ''] ?? 0);
  if (seconds <= 0) reader.fail(entry.node, 'maxMetadataAge must be a positive number of seconds or <n>s, <n>m, <n>h, <n>d (e.g. 24h)', entry.line);
  return seconds;
}

function parseRule(reader: Reader, node: unknown, index: number, teams: ReadonlyMap<string, string>, listLine: number): PolicyRule {
  const where = `rules[${index}]`;
  const line = reader.line(node) || listLine;
  const m = reader.map(node, where, ['pattern', 'roles', 'teams', 'threshold', 'mode', 'pinnedRootKeys', 'pinnedCA', 'maxMetadataAge'], listLine);
  const patternEntry = m.get('pattern');
  if (patternEntry === undefined) reader.fail(node, `${where} needs a pattern (e.g. registry.example.com/team/*)`, line);
  const pattern = reader.string(patternEntry, `${where}.pattern`);
  const patternProblem = compilePattern(pattern).problem;
  if (patternProblem !== null) reader.fail(patternEntry.node, `${where}.pattern: ${patternProblem}`, patternEntry.line);

  const roles: string[] = [];
  for (const r of reader.strings(m.get('roles'), `${where}.roles`)) {
    if (!ROLE.test(r.value)) reader.fail(null, `${where}.roles: "${r.value}" is not a targets role (targets or targets/<name>)`, r.line);
    if (roles.includes(r.value)) reader.fail(null, `${where}.roles: role ${r.value} is listed twice`, r.line);
    roles.push(r.value);
  }
  for (const t of reader.strings(m.get('teams'), `${where}.teams`)) {
    const role = teams.get(t.value);
    if (role === undefined) reader.fail(null, `${where}.teams: team "${t.value}" is not declared under the top-level teams`, t.line);
    if (roles.includes(role)) reader.fail(null, `${where}.teams: team ${t.value} maps to ${role}, which the rule already requires`, t.line);
    roles.push(role);
  }
  if (roles.length === 0) reader.fail(node, `${where} requires no signature: give roles and/or teams`, line);

  let threshold = roles.length;
  const th = m.get('threshold');
  if (th !== undefined) {
    const v = isScalar(th.node) ? th.node.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > roles.length) {
      reader.fail(th.node, `${where}.threshold must be an integer from 1 to ${roles.length} (the number of roles and teams listed)`, th.line);
    }
    threshold = v;
  }
  const mode = reader.oneOf<PolicyMode>(m.get('mode'), `${where}.mode`, ['enforce', 'warn'], 'enforce');
  const pinnedRootKeys = reader.strings(m.get('pinnedRootKeys'), `${where}.pinnedRootKeys`).map((k) => {
    if (!KEY_ID.test(k.value)) reader.fail(null, `${where}.pinnedRootKeys: "${k.value.slice(0, 80)}" is not a 64-hex-digit key ID`, k.line);
    return k.value;
  });
  const pinnedCAs = reader.strings(m.get('pinnedCA'), `${where}.pinnedCA`).map((c) => {
    try {
      const cert = new X509Certificate(c.value);
      if (!cert.ca) reader.fail(null, `${where}.pinnedCA: the certificate ${cert.subject.replace(/\n/g, ', ')} is not a CA certificate`, c.line);
    } catch (err) {
      if (err instanceof PolicyError) throw err;
      reader.fail(null, `${where}.pinnedCA: not a PEM certificate`, c.line);
    }
    return c.value;
  });
  const ageEntry = m.get('maxMetadataAge');
  const rule: PolicyRule = { pattern, roles, threshold, mode, pinnedRootKeys, pinnedCAs, line };
  return ageEntry === undefined ? rule : { ...rule, maxMetadataAgeSeconds: parseAge(reader, ageEntry) };
}

/**
 * Parse and validate a policy file.
 * @throws {PolicyError} with the file name, line and reason.
 */
export function parsePolicy(text: string, fileName: string): Policy {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const firstError = doc.errors[0];
  if (firstError !== undefined) {
    throw new PolicyError(fileName, lines.linePos(firstError.pos[0]).line, `not valid YAML or JSON: ${firstError.message.split('\n')[0] ?? ''}`);
  }
  const reader: Reader = new Reader(fileName, lines);
  if (doc.contents === null) throw new PolicyError(fileName, 0, 'the policy is empty; it needs at least `default: deny` and `rules`');
  const top = reader.map(doc.contents, 'the policy', ['default', 'defaultMode', 'teams', 'rules'], 1);
  const def = reader.oneOf<PolicyDefault>(top.get('default'), 'default', ['allow', 'deny'], 'deny');
  const defaultMode = reader.oneOf<PolicyMode>(top.get('defaultMode'), 'defaultMode', ['enforce', 'warn'], 'enforce');

  const teams = new Map<string, string>();
  const teamsEntry = top.get('teams');
  if (teamsEntry !== undefined) {
    if (!isMap(teamsEntry.node)) reader.fail(teamsEntry.node, 'teams must map team names to roles (qa: targets/qa)', teamsEntry.line);
    for (const pair of teamsEntry.node.items as Pair[]) {
      const name = isScalar(pair.key) ? pair.key.value : undefined;
      if (typeof name !== 'string' || !TEAM.test(name)) reader.fail(pair.key, 'team names must be 1-64 of [A-Za-z0-9_.-]', teamsEntry.line);
      const role = reader.string({ node: pair.value, line: reader.line(pair.key) }, `teams.${name}`);
      if (!ROLE.test(role)) reader.fail(pair.value, `teams.${name}: "${role}" is not a targets role (targets or targets/<name>)`, reader.line(pair.key));
      teams.set(name, role);
    }
  }

  const rulesEntry = top.get('rules');
  const rules: PolicyRule[] = [];
  if (rulesEntry !== undefined && !(isScalar(rulesEntry.node) && rulesEntry.node.value === null)) {
    if (!isSeq(rulesEntry.node)) reader.fail(rulesEntry.node, 'rules must be a list', rulesEntry.line);
    if (rulesEntry.node.items.length > MAX_RULES) reader.fail(rulesEntry.node, `more than ${MAX_RULES} rules`, rulesEntry.line);
    rulesEntry.node.items.forEach((item, i) => {
      const rule = parseRule(reader, item, i, teams, rulesEntry.line);
      const twin = rules.find((r) => r.pattern === rule.pattern);
      if (twin !== undefined) reader.fail(item, `rules[${i}]: pattern ${rule.pattern} is already used by the rule on line ${twin.line}; merge them`, rule.line);
      rules.push(rule);
    });
  }
  return { default: def, defaultMode, teams, rules };
}
