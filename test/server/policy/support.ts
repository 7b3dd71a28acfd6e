// SPDX-License-Identifier: Apache-2.0
// A team repository published through the real trust service (embedded store):
// delegations targets/developer, targets/qa, targets/devops, targets/jenkins,
// and targets/releases holding all four teams' keys; the server holds the
// timestamp and snapshot keys, as with `notary init` defaults.

import { createHash } from 'node:crypto';
import type { SignetTrustService } from '../../../server/domain/trust-service.js';
import { RepositorySimulator, type SimKey } from '../../support/repository-simulator.js';
import { Clock, DAY_MS, part, Publisher } from '../domain/support.js';

export const TEAMS = ['developer', 'qa', 'devops', 'jenkins'] as const;
export type Team = (typeof TEAMS)[number];
export const digestOf = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

export class TeamRepo {
  readonly versions = new Map<string, number>();
  /** role -> tag -> manifest content */
  readonly content = new Map<string, Record<string, string>>();
  private constructor(
    readonly service: SignetTrustService,
    readonly publisher: Publisher,
    readonly keys: Record<Team, SimKey>,
  ) {}

  get gun(): string {
    return this.publisher.gun;
  }

  static async create(service: SignetTrustService, clock: Clock, gun: string): Promise<TeamRepo> {
    const publisher = await Publisher.create(service, clock, { gun, serverSnapshot: true });
    const window = { notBefore: new Date(clock.current.getTime() - DAY_MS), notAfter: new Date(clock.current.getTime() + 3650 * DAY_MS) };
    const keys = {} as Record<Team, SimKey>;
    for (const team of TEAMS) keys[team] = await RepositorySimulator.newCertificateKey(`targets/${team}`, window);
    const repo = new TeamRepo(service, publisher, keys);
    const parts = [part('root', await publisher.root())];
    parts.push(part('targets', await repo.#targetsFile()));
    for (const role of repo.roles()) parts.push(part(role, await repo.#roleFile(role)));
    await service.applyUpdate(gun, parts);
    return repo;
  }

  roles(): string[] {
    return [...TEAMS.map((t) => `targets/${t}`), 'targets/releases'];
  }

  #bump(role: string): number {
    const v = (this.versions.get(role) ?? 0) + 1;
    this.versions.set(role, v);
    return v;
  }

  #targetsFile(): Promise<Buffer> {
    const delegations = [...TEAMS.map((t) => ({ name: `targets/${t}`, keys: [this.keys[t]], paths: [''] })), { name: 'targets/releases', keys: TEAMS.map((t) => this.keys[t]), paths: [''] }];
    return this.publisher.targets('targets', { version: this.#bump('targets'), delegations });
  }

  #roleFile(role: string, signer?: SimKey): Promise<Buffer> {
    const team = role.slice('targets/'.length) as Team;
    const signers = [signer ?? this.keys[team] ?? this.keys.developer];
    return this.publisher.targets(role, { version: this.#bump(role), targets: this.content.get(role) ?? {}, signers });
  }

  /** Sign `tag` = `manifest` into `role` (signed by `signer`, default the role's team key) and publish. */
  async sign(role: string, tag: string, manifest: string, signer?: SimKey): Promise<void> {
    this.content.set(role, { ...(this.content.get(role) ?? {}), [tag]: manifest });
    await this.service.applyUpdate(this.gun, [part(role, await this.#roleFile(role, signer))]);
  }

  /** Publish root version 2 with a new root key, signed by the old and the new key (a legitimate rotation). */
  async rotateRoot(clock: Clock): Promise<void> {
    const old = this.publisher.rootKey;
    const next = await Publisher.rootKeyFor(this.gun, clock);
    this.publisher.rootKey = next;
    const root = await this.publisher.root({ version: 2, rootKeys: [next], signers: [old, next] });
    await this.service.applyUpdate(this.gun, [part('root', root)]);
  }
}
