// SPDX-License-Identifier: Apache-2.0
// A child node script on a real pseudo-terminal (util-linux `script`), answered
// prompt by prompt: how the passphrase and PIN prompts are tested.
import { spawn, spawnSync } from 'node:child_process';

export const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;

export type TerminalRun = (args: string[], dialogue: Array<[RegExp, string]>, env?: Record<string, string>) => Promise<{ status: number | null; output: string }>;

/** Runs `script` with node on a pseudo-terminal, typing each answer after its prompt appears. */
export function terminalRunner(script: string): TerminalRun {
  return async (args, dialogue, env = {}) => {
    const cmd = [process.execPath, script, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
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
  };
}
