import { exportBases, importBases } from '../../container/base-archive.ts';
import { ensureBases, formatEnsureReport, trackedPinFiles } from '../../container/base-ensure.ts';
import { BUILD_ENVS, type BuildEnv, containerOses, type ContainerOs } from '../../container/base-pins.ts';
import { checkOs } from '../../os/os-list.ts';
import { buildBase, formatRefreshReport, type BaseBuildResult } from '../../container/base-build.ts';
import { bootstrapUpstream } from '../../container/bootstrap.ts';
import { checkReportPath, refreshUpstream, writeRefreshReport } from '../../container/base-refresh.ts';
import { defineCommand, UsageError } from '../command.ts';

interface BaseArgs {
  action: 'bootstrap' | 'build' | 'refresh' | 'ensure' | 'export' | 'import';
  os?: ContainerOs;
  env?: BuildEnv;
  report?: string;
  out?: string;
  archive?: string;
}

/** `icos base ...`: the upstream root and the pinned base images: make, refresh, ensure, carry. */
export const baseCommand = defineCommand<BaseArgs>({
  command: 'base <action>',
  describe:
    'Base images: bootstrap (Debian root), build (one OS and env), refresh (all, weekly), ensure (get the pinned ones, or stand-ins), export/import (carry them)',
  builder: (yargs) =>
    yargs
      .positional('action', {
        choices: ['bootstrap', 'build', 'refresh', 'ensure', 'export', 'import'] as const,
        demandOption: true,
        describe: 'What to do',
      })
      .option('os', { type: 'string', describe: 'Operating system of envs/oses.json (build; narrows export)' })
      .option('report', { type: 'string', describe: 'Also write the change report as Markdown to this file (refresh)' })
      .option('env', { choices: BUILD_ENVS, describe: 'Build environment (build; narrows export)' })
      .option('out', { type: 'string', describe: 'Archive to write (export)' })
      .option('archive', { type: 'string', describe: 'Archive of `icos base export` to push to ICOS_REGISTRY (import)' }) as never,
  async run(args, deps) {
    if (args.report !== undefined && args.action !== 'refresh') throw new UsageError(`base ${args.action}: --report belongs to refresh`);
    // export and import talk to the registry through skopeo, not to the engine.
    if (args.action === 'export' || args.action === 'import') {
      const archiveDeps = { runner: deps.runner, log: deps.log };
      if (args.action === 'export') {
        if (args.out === undefined || args.out === '') throw new UsageError('base export: --out is required');
        if (args.archive !== undefined) throw new UsageError('base export: takes --out, not --archive');
        const only = { os: args.os === undefined ? undefined : checkOs(args.os, '--os'), env: args.env };
        const pins = await exportBases(trackedPinFiles(only), args.out, archiveDeps);
        process.stdout.write(pins.map((pinned) => `${pinned.reference}\n`).join(''));
        return;
      }
      if (args.archive === undefined || args.archive === '') throw new UsageError('base import: --archive is required');
      if (args.out !== undefined || args.os !== undefined || args.env !== undefined) throw new UsageError('base import: takes only --archive');
      const pins = await importBases(args.archive, trackedPinFiles(), archiveDeps);
      process.stdout.write(pins.map((pinned) => `${pinned.reference}\n`).join(''));
      return;
    }
    if (args.out !== undefined || args.archive !== undefined) throw new UsageError(`base ${args.action}: --out and --archive belong to export and import`);
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
      // Never rewrites a tracked pin: a machine without the pinned images gets untracked stand-ins.
      process.stdout.write(formatEnsureReport(await ensureBases(containerDeps)));
      return;
    }
    // The weekly refresh: a fresh upstream root first, so new Debian packages reach every base.
    if (args.report !== undefined) await checkReportPath(args.report);
    const upstream = await refreshUpstream(containerDeps);
    const results: BaseBuildResult[] = [];
    for (const os of containerOses()) {
      for (const env of BUILD_ENVS) results.push(await buildBase(os, env, containerDeps));
    }
    process.stdout.write(formatRefreshReport(results));
    if (args.report !== undefined) await writeRefreshReport(args.report, upstream, results);
  },
});
