// SPDX-License-Identifier: Apache-2.0
// Every place that would ask on a terminal reads CI through isCiEnv: CI=1,
// True or yes is CI as CI=true is, so nothing prompts (or draws) there. Each
// case has a terminal whose input already holds an answer, so a prompt that
// were shown would be answered and the assertion would fail instead of hang.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { credentialSource } from '../../client/credentials.js';
import { confirm } from '../../client/key-context.js';
import { progressAllowed } from '../../client/progress.js';
import { promptPinSource } from '../../keys/pkcs11/pin.js';
import { UsageError } from '../../shared/errors.js';
import { sink } from './support/cli-run.js';
import { runCli } from '../../client/cli.js';

const CI_VALUES = ['1', 'True', 'yes'];

function terminal(answer: string): PassThrough & { isTTY: boolean } {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  input.write(answer);
  return input;
}

describe('CI=1/True/yes count as CI wherever signet would prompt', () => {
  for (const ci of CI_VALUES) {
    it(`CI=${ci}: key commands' confirmation refuses instead of asking`, async () => {
      const io = { stdout: new PassThrough(), stderr: new PassThrough(), stdin: terminal('yes\n'), env: { CI: ci } };
      await assert.rejects(confirm(io, 'Remove it?', false), (e: unknown) => e instanceof UsageError && /no terminal to ask on; pass -y/.test(e.message));
    });

    it(`CI=${ci}: delegation remove of a whole role refuses instead of asking`, async () => {
      const err = sink();
      const code = await runCli(['-d', '/nonexistent-signet-ci-test', 'delegation', 'remove', 'example.com/ci', 'targets/releases'], {
        stdout: new PassThrough(),
        stderr: err.stream,
        stdin: terminal('yes\n'),
        env: { HOME: '/nonexistent-signet-ci-test', CI: ci },
      });
      assert.equal(code, 2, err.text());
      assert.match(err.text(), /needs confirmation: answer yes on a terminal, or pass --yes/);
    });

    it(`CI=${ci}: no login prompt, no PIN prompt, no progress bars`, async () => {
      let asked = false;
      const prompt = {
        input: terminal('user\n'),
        output: new PassThrough(),
        readLine: async () => ((asked = true), 'user'),
        readHidden: async () => ((asked = true), 'password'),
      };
      assert.equal(await credentialSource({ env: { CI: ci }, lookup: () => null, host: 'h', prompt }).prompt(), null);
      assert.equal(asked, false);
      await assert.rejects(promptPinSource({ input: terminal('1234\n'), output: new PassThrough(), env: { CI: ci } })({ token: 't', attempt: 0, finalTry: false }), /no terminal to ask on/);
      const tty = Object.assign(new PassThrough(), { isTTY: true });
      assert.equal(progressAllowed(tty, tty, { CI: ci }), false);
    });
  }

  it('CI=0 or false is not CI: the login prompt is asked', async () => {
    for (const ci of ['0', 'false']) {
      const prompt = { input: terminal(''), output: new PassThrough(), readLine: async () => 'user', readHidden: async () => 'password' };
      assert.deepEqual(await credentialSource({ env: { CI: ci }, lookup: () => null, host: 'h', prompt }).prompt(), { username: 'user', password: 'password', origin: 'the prompt' });
    }
  });
});
