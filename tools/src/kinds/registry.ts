import type { ArtifactKind } from './kind.ts';

/**
 * Every artifact kind icos can make, listed explicitly: adding a kind means one module under
 * `kinds/`, one entry here, and one test beside the module.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const KINDS: Record<string, ArtifactKind<any, any>> = {};
