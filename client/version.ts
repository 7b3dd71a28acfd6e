// SPDX-License-Identifier: Apache-2.0
// The release `signet version` reports; test/client/help.test.ts holds it to package.json.
export const SIGNET_VERSION = '0.1.0';
