#!/usr/bin/env node
// Entry point. `npm ci` bundles tools/src into build/icos.mjs (esbuild, starts in a fraction of
// the time); that bundle runs while it is newer than every file and folder under tools/src, and
// otherwise the TypeScript sources run through tsx, so an edited source never runs stale.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = `${root}build/icos.mjs`;

/** Newest mtime of a directory tree, folders included (a deleted file changes its folder). */
function newestMtime(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  try {
    return statSync(bundle).mtimeMs > newestMtime(`${root}tools/src`);
  } catch {
    return false;
  }
}

if (process.env.ICOS_FROM_SOURCE !== '1' && bundleIsFresh()) {
  // The bundle cannot find the checkout or the SEEK_DATA addon relative to itself: name them.
  process.env.ICOS_REPO_ROOT ||= root;
  process.env.ICOS_SPARSE_SEEK_ADDON ||= `${root}build/Release/sparse_seek.node`;
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../tools/src/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
