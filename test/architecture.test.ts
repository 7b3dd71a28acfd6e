// SPDX-License-Identifier: Apache-2.0
// The module map is a rule, not a hope: shared/ imports nothing of ours,
// keys/ only shared/, server/ and client/ never each other, product code never
// reaches into ../shared (reference material), heavy libraries stay in their
// folders, and product code has no `any`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './support/paths.js';

const PRODUCT = ['shared', 'keys', 'server', 'client'] as const;
type Area = (typeof PRODUCT)[number];
const ALLOWED: Record<Area, readonly Area[]> = {
  shared: ['shared'],
  keys: ['shared', 'keys'],
  server: ['shared', 'keys', 'server'],
  client: ['shared', 'keys', 'client'],
};
// package -> folder prefix it may be imported from
const LIBRARY_HOME: Record<string, string> = {
  express: 'server/',
  pg: 'server/storage/',
  '@electric-sql/pglite': 'server/storage/',
  pkcs11js: 'keys/',
  commander: '',
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) specs.push((m[1] ?? m[2])!);
  return specs;
}

const files = PRODUCT.flatMap((area) => sourceFiles(path.join(REPO_ROOT, area)).map((f) => ({ area, file: f, rel: path.relative(REPO_ROOT, f) })));

test('there is product code to check', () => {
  assert.ok(files.length > 5, `found only ${files.length} files`);
});

test('imports follow the module map', () => {
  const bad: string[] = [];
  for (const { area, file, rel } of files) {
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.')) {
        const target = path.relative(REPO_ROOT, path.resolve(path.dirname(file), spec));
        const top = target.split(path.sep)[0] ?? '';
        if (target.startsWith('..')) bad.push(`${rel} imports ${spec}: outside the repository (../shared is reference material, never product code)`);
        else if (!(ALLOWED[area] as readonly string[]).includes(top)) bad.push(`${rel} imports ${spec}: ${area}/ may import only ${ALLOWED[area].join(', ')}`);
      } else {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        const home = LIBRARY_HOME[pkg];
        if (home !== undefined && home !== '' && !rel.startsWith(home)) bad.push(`${rel} imports ${pkg}: it belongs in ${home}`);
      }
    }
  }
  assert.deepEqual(bad, []);
});

test('product code has no `any`', () => {
  const bad: string[] = [];
  for (const { file, rel } of files) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, '').replace(/'[^']*'|"[^"]*"|`[^`]*`/g, '""');
      if (/(:\s*any\b|\bas\s+any\b|<any>|any\[\])/.test(code)) bad.push(`${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(bad, []);
});
