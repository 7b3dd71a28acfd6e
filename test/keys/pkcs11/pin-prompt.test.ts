// SPDX-License-Identifier: Apache-2.0
// The token PIN typed at a real terminal (util-linux `script` gives the child
// a pseudo-terminal): it is not echoed, a wrong PIN is asked again, and
// without a terminal nothing is asked and the variable to set is named.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSoftHsm, softhsmSkip, type SoftHsm, type TestToken } from '../../support/softhsm.js';
import { HAS_SCRIPT, terminalRunner } from '../../support/terminal.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pin-child.js');

const onTerminal = terminalRunner(CHILD);

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
