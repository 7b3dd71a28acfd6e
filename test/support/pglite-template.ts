// SPDX-License-Identifier: Apache-2.0
// A migrated, cleanly closed PGlite data dir that tests copy: initialising a new
// one costs seconds of CPU (tens under load), copying a tenth of that. Built once
// per machine, PGlite version and schema; built aside and renamed into place, so
// a test process killed while building leaves no half-made template.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadMigrations } from '../../server/storage/migrate.js';
import { openStore } from '../../server/storage/open-store.js';
import { REPO_ROOT } from './paths.js';

export async function pgliteTemplate(): Promise<string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')) as { version: string };
  const key = createHash('sha256').update(`${pkg.version} ${loadMigrations().map((m) => m.checksum).join(' ')}`).digest('hex').slice(0, 16);
  const template = path.join(os.tmpdir(), `signet-test-pglite-${key}`);
  if (fs.existsSync(path.join(template, 'PG_VERSION'))) return template;
  const building = fs.mkdtempSync(`${template}-building-`);
  try {
    await (await openStore({ dataDir: path.join(building, 'data') })).close();
    try {
      fs.renameSync(path.join(building, 'data'), template);
    } catch {
      // another test process put its template there first
    }
  } finally {
    fs.rmSync(building, { recursive: true, force: true });
  }
  return template;
}
