import { fileURLToPath } from 'node:url';

/** Where the repository is, and the GuestOS envs Bazel builds (envs/guestos/<env>). */

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export const GUESTOS_ENVS = ['prod', 'dev', 'dev-malicious'] as const;
export type GuestOsEnv = (typeof GUESTOS_ENVS)[number];

/** The Bazel package of an env's images (bazel/private/build_macro.bzl targets). */
export function packageOf(env: GuestOsEnv): string {
  return `envs/guestos/${env}`;
}
