import { basePinFile, BUILD_ENVS, type BuildEnv, containerOses, type ContainerOs, readPin, UPSTREAM } from '../../container/base-pins.ts';
import { checkOs } from '../../os/os-list.ts';
import { buildBase, formatRefreshReport, type BaseBuildResult } from '../../container/base-build.ts';
import { bootstrapUpstream } from '../../container/bootstrap.ts';
import { defineCommand, UsageError } from '../command.ts';

interface BaseArgs {
  action: 'bootstrap' | 'build' | 'refresh' | 'ensure';
  os?: ContainerOs;
  env?: BuildEnv;
}

/** `icos base bootstrap|build|refresh`: the upstream root and the pinned base images. */
export const baseCommand = defineCommand<BaseArgs>({
  command: 'base <action>',
  describe: 'Make base images: bootstrap (Debian root), build (one OS and env), refresh (all, weekly), ensure (only missing pins)',
  builder: (yargs) =>
    yargs
      .positional('action', { choices: ['bootstrap', 'build', 'refresh', 'ensure'] as const, demandOption: true, describe: 'What to make' })
      .option('os', { type: 'string', describe: 'Operating system of envs/oses.json (build)' })
      .option('env', { choices: BUILD_ENVS, describe: 'Build environment (build)' }) as never,
  async run(args, deps) {
    const containerDeps = { engine: await deps.engine(), runner: deps.runner, log: deps.log };
    // Every action asks the engine: one that does not answer is named (endpoint, reason) at once.
    await containerDeps.engine.ping();
    if (args.action === 'bootstrap') {
      const { pinned } = await bootstrapUpstream(containerDeps);
      process.stdout.write(`${pinned.reference}\n`);
      return;
    }
    if (args.action === 'build') {
      if (args.os === undefined || args.env === undefined) throw new UsageError('base build: --os and --env are required');
      const result = await buildBase(checkOs(args.os, '--os'), args.env, containerDeps);
      process.stdout.write(formatRefreshReport([result]));
      return;
    }
    if (args.os !== undefined || args.env !== undefined) {
      throw new UsageError(`base ${args.action}: covers every OS and env, it takes no --os or --env`);
    }
    if (args.action === 'ensure') {
      // A fresh machine's registry holds none of the pinned digests: make only what is missing, so
      // a machine that has them keeps building on exactly the pinned bases.
      if (!(await containerDeps.engine.ensureImage((await readPin(UPSTREAM.pinFile)).reference))) await bootstrapUpstream(containerDeps);
      const results: BaseBuildResult[] = [];
      for (const os of containerOses()) {
        for (const env of BUILD_ENVS) {
          if (!(await containerDeps.engine.ensureImage((await readPin(basePinFile(os, env))).reference))) {
            results.push(await buildBase(os, env, containerDeps));
          }
        }
      }
      process.stdout.write(results.length === 0 ? 'every pinned base image is in the registry\n' : formatRefreshReport(results));
      return;
    }
    // The weekly refresh: a fresh upstream root first, so new Debian packages reach every base.
    await bootstrapUpstream(containerDeps);
    const results: BaseBuildResult[] = [];
    for (const os of containerOses()) {
      for (const env of BUILD_ENVS) results.push(await buildBase(os, env, containerDeps));
    }
    process.stdout.write(formatRefreshReport(results));
  },
});
