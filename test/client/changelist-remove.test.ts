// SPDX-License-Identifier: Apache-2.0
// FileChangelist.removeFiles after a publish: exactly the applied files go,
// changes staged meanwhile stay, and a file already gone is not an error.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileChangelist } from '../../client/changelist.js';

const change = (p: string) => ({ action: 'create', role: 'targets', type: 'target', path: p, data: Buffer.from('{"length":1,"hashes":{"sha256":"AA=="}}') }) as const;

describe('FileChangelist.removeFiles', () => {
  it('removes the applied files only, tolerates one already removed, and keeps a later change', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-cl-rm-'));
    try {
      const cl = new FileChangelist(dir);
      const applied = [cl.add(change('a')), cl.add(change('b')), cl.add(change('c'))];
      const later = cl.add(change('d'));
      fs.unlinkSync(path.join(dir, applied[1]!)); // e.g. a concurrent `reset`
      cl.removeFiles(applied);
      assert.deepEqual(cl.fileNames(), [later]);
      // A path is reduced to its base name: nothing outside the changelist is touched.
      fs.writeFileSync(path.join(path.dirname(dir), `${path.basename(dir)}-outside`), 'x');
      cl.removeFiles([`../${path.basename(dir)}-outside`]);
      assert.equal(fs.existsSync(path.join(path.dirname(dir), `${path.basename(dir)}-outside`)), true);
      fs.rmSync(path.join(path.dirname(dir), `${path.basename(dir)}-outside`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a removal that fails for another reason than absence', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-cl-rm-'));
    try {
      const cl = new FileChangelist(dir);
      fs.mkdirSync(path.join(dir, 'not-a-file'));
      // reported, not thrown: removeFiles runs after the server accepted the publish
      const stuck = cl.removeFiles(['not-a-file']);
      assert.equal(stuck.length, 1);
      assert.equal(stuck[0]!.file, 'not-a-file');
      assert.ok(['EISDIR', 'EPERM'].includes(stuck[0]!.code), stuck[0]!.code);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
