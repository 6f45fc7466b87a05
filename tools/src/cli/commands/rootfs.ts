import path from 'node:path';
import { checkReplaceable, writeAtomically } from '../../lib/atomic-output.ts';
import { quoted } from '../../messages.ts';
import { BUILD_ENVS, type BuildEnv, type ContainerOs } from '../../container/base-pins.ts';
import { checkOs } from '../../os/os-list.ts';
import { buildRootfs, planRootfs } from '../../container/rootfs-build.ts';
import { defineCommand } from '../command.ts';

interface RootfsArgs {
  os: ContainerOs;
  env: BuildEnv;
  out: string;
  baseImage?: string;
}

/** `icos rootfs`: the container build of an OS exported as a normalised root filesystem tar. */
export const rootfsCommand = defineCommand<RootfsArgs>({
  command: 'rootfs',
  describe: 'Build envs/<os>/context/Dockerfile on the pinned base and export it as a reproducible tar',
  builder: (yargs) =>
    yargs
      .option('os', { type: 'string', demandOption: true, describe: 'Operating system of envs/oses.json' })
      .option('env', { choices: BUILD_ENVS, demandOption: true, describe: 'Build environment (BUILD_TYPE)' })
      .option('out', { type: 'string', demandOption: true, describe: 'Output tar (rootfs-tree.tar)' })
      .option('base-image', {
        type: 'string',
        describe: 'Base image instead of the env pin (prod: only the prod base, by digest)',
      }) as never,
  async run(args, deps) {
    const engine = await deps.engine();
    const plan = await planRootfs(checkOs(args.os, '--os'), args.env, path.basename(args.out), args.baseImage);
    // Fail fast, before any output path exists: an output that cannot be replaced, no engine.
    const out = path.resolve(args.out);
    await checkReplaceable(out, `--out ${quoted(args.out)}`);
    await engine.ping();
    const summary = await writeAtomically(out, (temp) =>
      buildRootfs(plan, temp, { engine, runner: deps.runner, log: deps.log }),
    );
    deps.log.info(
      `${plan.artifact}: ${summary.entries} entries (${summary.hardLinks} hard links, ${summary.dropped} dropped)`,
    );
  },
});
