// SPDX-License-Identifier: Apache-2.0
// The token PIN typed at a real terminal (util-linux `script` gives the child
// a pseudo-terminal): it is not echoed, a wrong PIN is asked again, and
// without a terminal nothing is asked and the variable to set is named.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSoftHsm, softhsmSkip, type SoftHsm, type TestToken } from '../../support/softhsm.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pin-child.js');
const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;

/** Runs the child on a pseudo-terminal, typing each answer after its prompt appears. */
async function onTerminal(args: string[], dialogue: Array<[RegExp, string]>, env: Record<string, string>): Promise<{ status: number | null; output: string }> {
  const cmd = [process.execPath, CHILD, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env: { PATH: process.env.PATH ?? '', TERM: 'dumb', ...env } });
  let output = '';
  let waiter: (() => void) | undefined;
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    waiter?.();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let seen = 0;
  for (const [prompt, answer] of dialogue) {
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        const m = prompt.exec(output.slice(seen));
        if (m !== null) {
          seen += m.index + m[0].length;
          waiter = undefined;
          resolve();
        }
      };
      waiter = check;
      check();
      void exited.then(() => reject(new Error(`child exited before ${String(prompt)}; output:\n${output}`)));
    });
    child.stdin.write(`${answer}\r`);
  }
  const status = await exited;
  clearTimeout(timer);
  return { status, output };
}

describe('token PIN at a terminal', { skip: softhsmSkip() || (!HAS_SCRIPT && 'util-linux script not installed') }, () => {
  let hsm: SoftHsm;
  let tok: TestToken;
  before(() => {
    hsm = createSoftHsm();
    tok = hsm.createToken('signet-pty', '864209');
  });
  after(() => hsm.remove());

  test('a wrong PIN, then the right one; neither is echoed', async () => {
    const { status, output } = await onTerminal([hsm.modulePath, tok.label], [
      [/Enter the user PIN of token signet-pty:/, '000111'],
      [/Wrong PIN\. Please retry\.[\s\S]*Enter the user PIN of token signet-pty:/, tok.pin],
    ], { SOFTHSM2_CONF: hsm.conf });
    assert.equal(status, 0, output);
    assert.match(output, /OK generated [0-9a-f]{64}/);
    assert.doesNotMatch(output, /000111|864209/);
  });

  test('CI=true on a terminal: no prompt, PASSPHRASE_REQUIRED naming SIGNET_PKCS11_PIN', async () => {
    const { status, output } = await onTerminal([hsm.modulePath, tok.label], [], { SOFTHSM2_CONF: hsm.conf, CI: 'true' });
    assert.equal(status, 3, output);
    assert.match(output, /PASSPHRASE_REQUIRED: .*SIGNET_PKCS11_PIN/);
    assert.doesNotMatch(output, /Enter the user PIN/);
  });
});
