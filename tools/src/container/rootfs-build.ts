import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.ts';
import { resolveLayout } from '../os/layout.ts';
import { renderIfTemplated } from '../os/layout-facts.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { sourceDateEpoch } from '../lib/reproducible.ts';
import {
  type BuildEnv,
  basePinFile,
  checkBaseForEnv,
  type ContainerOs,
  contextDir,
  displayPath,
  inRegistry,
} from './base-pins.ts';
import { readEffectivePin } from './local-base.ts';
import type { ContainerDeps } from './bootstrap.ts';
import { packBuildContext } from './build-context.ts';
import { checkImageReference } from './image-reference.ts';
import { type Component, readComponentManifest } from './component-manifest.ts';
import { temporaryName, withEngineResources } from './engine-resources.ts';
import { normaliseRootfsTar, type NormaliseSummary } from './rootfs-normalise.ts';

/** Everything a rootfs build needs, validated before the engine is asked anything. */
export interface RootfsPlan {
  os: ContainerOs;
  env: BuildEnv;
  baseImage: string;
  /** Where the base reference came from, for messages (pin file or --base-image). */
  baseSource: string;
  /** True when the base came from the env's own pin file. */
  basePinned: boolean;
  /** True when that pin's untracked local stand-in replaced it (the pinned image was not to be had). */
  localBase: boolean;
  components: Component[];
  mtime: number;
  artifact: string;
}

/** Reads the pin (or takes `baseOverride`), applies the prod rules and reads the component manifest. */
export async function planRootfs(
  os: ContainerOs,
  env: BuildEnv,
  outName: string,
  baseOverride?: string,
): Promise<RootfsPlan> {
  const mtime = sourceDateEpoch();
  let baseImage: string;
  let baseSource: string;
  let localBase = false;
  if (baseOverride === undefined) {
    const pinned = await readEffectivePin(basePinFile(os, env), `icos base build --os ${os} --env ${env} makes it`);
    baseImage = inRegistry(pinned.use);
    baseSource = pinned.source;
    localBase = pinned.local !== undefined;
  } else {
    checkImageReference(baseOverride, '--base-image');
    baseImage = baseOverride;
    baseSource = '--base-image';
  }
  checkBaseForEnv(os, env, baseImage, baseSource);
  const components = await renderComponents(os, await readComponentManifest(os));
  return { os, env, baseImage, baseSource, basePinned: baseOverride === undefined, localBase, components, mtime, artifact: `rootfs(${outName})` };
}

/** Components with `{{layout.KEY}}` placeholders get their content rendered from the OS's tables. */
async function renderComponents(os: ContainerOs, components: Component[]): Promise<Component[]> {
  const { facts } = await resolveLayout(os);
  const rendered: Component[] = [];
  for (const component of components) {
    const content = renderIfTemplated(await readFile(component.source), facts, displayPath(component.source));
    rendered.push(content === undefined ? component : { ...component, content });
  }
  return rendered;
}

/**
 * Builds envs/<os>/context/Dockerfile on the base with the components in the context (no engine
 * cache), creates a container from the result without starting it, exports and normalises it
 * into `outPath`. The image and container are removed however the build ends.
 */
export async function buildRootfs(plan: RootfsPlan, outPath: string, deps: ContainerDeps): Promise<NormaliseSummary> {
  const { engine, log } = deps;
  await engine.ping();
  if (!(await engine.ensureImage(plan.baseImage))) {
    throw new UserError(
      `${plan.artifact}: base image "${plan.baseImage}" (from ${plan.baseSource}) is not in the registry`,
      plan.basePinned ? 'icos base ensure gets or makes it (icos base import brings it from an export)' : undefined,
    );
  }
  if (plan.localBase) {
    log.warn(`${plan.artifact}: built on the local base of ${plan.baseSource}, not the pinned one: this image will not match the pinned build`);
  }
  return withEngineResources(engine, log, async (resources) => {
    const tag = `icos-rootfs:${temporaryName(plan.os)}`;
    resources.image(tag);
    log.info(`${plan.artifact}: building ${displayPath(contextDir(plan.os))}/Dockerfile on ${plan.baseImage}`);
    const imageId = await engine.buildImage(
      {
        context: await packBuildContext(contextDir(plan.os), plan.components, plan.mtime),
        dockerfile: 'Dockerfile',
        tag,
        buildArgs: { BASE_IMAGE: plan.baseImage, BUILD_TYPE: plan.env },
        noCache: true,
        artifact: plan.artifact,
      },
      ({ text }) => log.info(text),
    );
    const containerId = await engine.createContainer(imageId, temporaryName(`${plan.os}-export`));
    resources.container(containerId);
    const exported = await engine.exportContainer(containerId);
    return withScratchDir('rootfs', (scratchDir) =>
      normaliseRootfsTar(exported, outPath, { mtime: plan.mtime, artifact: plan.artifact, scratchDir }),
    );
  });
}
