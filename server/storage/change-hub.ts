// SPDX-License-Identifier: Apache-2.0
// Change notifications of one store instance. After a commit the store tells
// its own subscribers at once (emit); on PostgreSQL it also sends NOTIFY
// inside the writing transaction, so other processes hear only committed
// changes. Payloads carry this instance's ID, so its own NOTIFYs are not
// announced twice; a GUN too long for a payload is announced as a reset.

import { randomBytes } from 'node:crypto';
import type { ChangeListener, ResetListener } from './meta-store.js';
import type { SqlClient, SqlQueryable } from './sql-client.js';

export const DEFAULT_CHANNEL = 'signet_changes';
// NOTIFY payloads are limited to 8000 bytes.
const MAX_NOTIFY_BYTES = 7900;

interface Subscriber {
  readonly onChange: ChangeListener;
  readonly onReset: ResetListener | undefined;
}

export class ChangeHub {
  readonly #client: SqlClient;
  readonly #channel: string;
  readonly #instanceId = randomBytes(8).toString('hex');
  readonly #subscribers = new Set<Subscriber>();
  #listening: Promise<void> | undefined;
  #stopListening: (() => Promise<void>) | undefined;

  constructor(client: SqlClient, channel: string) {
    this.#client = client;
    this.#channel = channel;
  }

  /** Adds a subscriber; on PostgreSQL the first one starts the (shared) LISTEN connection. */
  async subscribe(onChange: ChangeListener, onReset: ResetListener | undefined): Promise<() => void> {
    const sub: Subscriber = { onChange, onReset };
    this.#subscribers.add(sub);
    const listen = this.#client.listen?.bind(this.#client);
    if (listen !== undefined && this.#listening === undefined) {
      this.#listening = listen(this.#channel, (payload) => this.#onNotify(payload), (listening) => this.reset(listening)).then(
        (stop) => {
          this.#stopListening = stop;
        },
        (err: unknown) => {
          this.#listening = undefined;
          throw err;
        },
      );
    }
    try {
      await this.#listening;
    } catch (err) {
      this.#subscribers.delete(sub);
      throw err;
    }
    return () => {
      this.#subscribers.delete(sub);
    };
  }

  /** The pg_notify arguments that tell other processes about `gun`, or null without LISTEN support (embedded). */
  notifyArguments(gun: string): { channel: string; payload: string } | null {
    if (this.#client.listen === undefined) return null;
    const payload = Buffer.byteLength(gun) > MAX_NOTIFY_BYTES ? `${this.#instanceId}!` : `${this.#instanceId}:${gun}`;
    return { channel: this.#channel, payload };
  }

  /** NOTIFY other processes from inside the writing transaction (no-op without LISTEN support). */
  async notifyInTransaction(tx: SqlQueryable, gun: string): Promise<void> {
    const args = this.notifyArguments(gun);
    if (args !== null) await tx.query('SELECT pg_notify($1, $2)', [args.channel, args.payload]);
  }

  /** Tell this instance's subscribers, after the commit. */
  emit(gun: string): void {
    for (const sub of this.#subscribers) {
      try {
        sub.onChange(gun);
      } catch {
        // A failing cache callback must not fail the write that already committed, nor starve other subscribers.
      }
    }
  }

  /** Tell subscribers that changes may have been missed; `listening`: whether notifications flow now. */
  reset(listening = true): void {
    for (const sub of this.#subscribers) {
      try {
        sub.onReset?.(listening);
      } catch {
        // as in emit
      }
    }
  }

  async close(): Promise<void> {
    await this.#listening?.catch(() => undefined);
    await this.#stopListening?.();
    this.#subscribers.clear();
  }

  #onNotify(payload: string): void {
    if (payload.startsWith(this.#instanceId)) return; // told our subscribers at commit already
    const rest = payload.slice(this.#instanceId.length);
    if (rest.startsWith(':')) this.emit(rest.slice(1));
    else this.reset();
  }
}
