// SPDX-License-Identifier: Apache-2.0
// Progress bars for long operations (many staged changes, large files,
// many role downloads), drawn on stderr with cli-progress. Shown only to a
// person: both stdout and stderr must be terminals and CI unset, so piped
// output, logs and CI runs never see control sequences. Small jobs (below
// `minTotal`) draw nothing either.

import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';
import { isCiEnv } from '../keys/index.js';

// Loaded when the first bar is drawn: most runs (CI, pipes) never draw one.
const require = createRequire(import.meta.url);
let bars: typeof CliProgress | undefined;

export interface ProgressTask {
  /** Advance by `n` (default 1). */
  tick(n?: number): void;
  /** Raise or lower the total once it is known better. */
  setTotal(total: number): void;
  /** Finish and clear the bar. Safe to call twice. */
  done(): void;
}

export interface Progress {
  /** Start a task of `total` units; `minTotal` is the size below which nothing is drawn. */
  begin(label: string, total: number, options?: { minTotal?: number; unit?: 'items' | 'bytes' }): ProgressTask;
}

const NOOP_TASK: ProgressTask = { tick: () => undefined, setTotal: () => undefined, done: () => undefined };

export const noProgress: Progress = { begin: () => NOOP_TASK };

type MaybeTty = NodeJS.WritableStream & { isTTY?: boolean };

/** Whether a bar may be drawn: a person at a terminal, not CI, output not piped. */
export function progressAllowed(stdout: MaybeTty, stderr: MaybeTty, env: NodeJS.ProcessEnv): boolean {
  return !isCiEnv(env) && stdout.isTTY === true && stderr.isTTY === true;
}

function mib(n: number): string {
  return (n / (1024 * 1024)).toFixed(1);
}

/** Bars on `stream`, or none at all when `enabled` is false. */
export function createProgress(stream: NodeJS.WritableStream, enabled: boolean): Progress {
  if (!enabled) return noProgress;
  return {
    begin(label, total, options = {}) {
      if (total < (options.minTotal ?? 0)) return NOOP_TASK;
      const bytes = options.unit === 'bytes';
      bars ??= require('cli-progress') as typeof CliProgress;
      const bar = new bars.SingleBar({
        stream,
        format: `${label} [{bar}] {percentage}% | ${bytes ? '{done}/{all} MiB' : '{value}/{total}'}`,
        clearOnComplete: true,
        hideCursor: true,
        fps: 10,
      });
      let value = 0;
      let all = total;
      bar.start(total, 0, { done: mib(0), all: mib(total) });
      let finished = false;
      return {
        tick(n = 1) {
          value += n;
          bar.update(value, { done: mib(value), all: mib(all) });
        },
        setTotal(t) {
          all = t;
          bar.setTotal(t);
        },
        done() {
          if (finished) return;
          finished = true;
          bar.stop();
        },
      };
    },
  };
}
