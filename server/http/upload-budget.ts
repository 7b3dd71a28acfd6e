// SPDX-License-Identifier: Apache-2.0
// Bytes of publish bodies held in memory at once, across all requests. A body
// is held from its first byte until its publish is applied (queued per GUN
// meanwhile), and in parsed form takes about three times its size: without a
// bound, concurrent near-limit uploads grew the process by ~60 MB each until
// the OOM killer ended it. Past the budget a publish gets 503 with
// Retry-After, which the notary client reports as a server that is busy.

export class ByteBudget {
  #used = 0;

  constructor(readonly limit: number) {}

  /** A share of the budget for one request: `take` what its body needs as it arrives, `release` all of it once. */
  lease(): { take(n: number): boolean; release(): void } {
    let held = 0;
    return {
      take: (n) => {
        if (n > this.limit - this.#used) return false;
        this.#used += n;
        held += n;
        return true;
      },
      release: () => {
        this.#used -= held;
        held = 0;
      },
    };
  }
}
