// SPDX-License-Identifier: Apache-2.0
// Docker image references -> GUN, tag and digest, by the rules of
// distribution/reference (ParseNormalizedNamed): a first component with a
// `.` or `:` or equal to `localhost` is a registry (a DNS name, IPv4 or
// [IPv6], with an optional port), otherwise the registry is docker.io and
// one-component names get `library/`; `index.docker.io` is docker.io; the
// host is lower-cased (DNS names are case-insensitive). A port is kept:
// `host:443` is a name of its own, as in Docker. For a
// policy check the tag defaults to `latest` when no digest is given; `signet
// sign` parses the same way but wants the tag written. The one parser for
// both, so an image is signed under the GUN its policy check looks up.
// Stricter than Docker: only sha256 digests are accepted (all Notary signs).

import { TrustError } from '../errors.js';
import type { ImageReference } from './types.js';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:localhost|(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Whether a reference's first component names a registry (distribution/reference's rule: a `.` or `:`, or `localhost`). */
export function isRegistryHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}
const MAX_NAME = 255;

function bad(ref: string, reason: string): TrustError {
  return new TrustError('INVALID_FIELD', `image reference ${JSON.stringify(ref.slice(0, 300))}: ${reason}`);
}

/** A parsed reference, the tag and digest only as written. */
export interface ImageName {
  /** host[:port] (docker.io for Docker Hub). */
  readonly registry: string;
  /** The repository path inside the registry (`team/app`, `library/alpine`). */
  readonly repository: string;
  /** `registry/repository`: the GUN. */
  readonly gun: string;
  readonly tag?: string;
  readonly digest?: string;
}

/**
 * Parse `ref` (`alpine`, `alpine:3.20`, `host:5000/team/app@sha256:<hex>`) without defaults.
 * @throws {TrustError} INVALID_FIELD naming what is wrong with the reference.
 */
export function parseImageName(ref: string): ImageName {
  if (ref === '' || ref.length > 1024) throw bad(ref, 'must be 1 to 1024 characters');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(ref, `digest ${JSON.stringify(digest)} is not sha256:<64 lower-case hex digits>`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(ref, `tag ${JSON.stringify(tag)} must be 1-128 of [A-Za-z0-9_.-], not starting with . or -`);
  }
  const parts = rest.split('/');
  let domain = 'docker.io';
  const first = parts[0] ?? '';
  if (parts.length > 1 && isRegistryHost(first)) {
    if (!DOMAIN.test(first)) throw bad(ref, `registry ${JSON.stringify(first)} is not a valid host[:port]`);
    // Host names are case-insensitive: REGISTRY.EXAMPLE.COM is the registry a rule for
    // registry.example.com names, and must not escape it (IPv6 hex digits alike).
    const host = first.toLowerCase();
    domain = host === 'index.docker.io' ? 'docker.io' : host;
    parts.shift();
  } else if (first !== first.toLowerCase()) {
    throw bad(ref, 'repository names must be lower case');
  }
  if (domain === 'docker.io' && parts.length === 1) parts.unshift('library');
  for (const part of parts) {
    if (!COMPONENT.test(part)) throw bad(ref, `path component ${JSON.stringify(part)} must be lower-case letters and digits separated by ., _, __ or -`);
  }
  const repository = parts.join('/');
  const gun = `${domain}/${repository}`;
  if (gun.length > MAX_NAME) throw bad(ref, `repository name is longer than ${MAX_NAME} characters`);
  return { registry: domain, repository, gun, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/**
 * Normalise `ref` for a policy check: its GUN, and `latest` when neither tag nor digest is given.
 * @throws {TrustError} INVALID_FIELD naming what is wrong with the reference.
 */
export function normalizeImageReference(ref: string): ImageReference {
  const { gun, tag, digest } = parseImageName(ref);
  const pinned = tag ?? (digest === undefined ? 'latest' : undefined);
  return { gun, ...(pinned === undefined ? {} : { tag: pinned }), ...(digest === undefined ? {} : { digest }) };
}

/** The canonical text of a normalised reference (`docker.io/library/alpine:latest`). */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.gun}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}
