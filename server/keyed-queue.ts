// SPDX-License-Identifier: Apache-2.0
// Runs work one at a time per key (a GUN, a GUN and role), in arrival order; a
// failure does not stop the work queued behind it. A key's entry is dropped
// once its queue drains, so the map holds only keys with work in flight.

export type KeyedQueue = <T>(key: string, work: () => Promise<T>) => Promise<T>;

export function createKeyedQueue(): KeyedQueue {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const run = (tails.get(key) ?? Promise.resolve()).then(work, work);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}
