import { readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner, Logger } from '../definitions.ts';
import { UserError } from '../errors.ts';
import { onExitOrSignal } from '../lib/atomic-output.ts';
import { MESSAGES } from '../messages.ts';
import { type Digest, digestFile, expandArtifact, pairArtifacts, parseBuildEvents, type ComparedArtifact } from './artifacts.ts';
import { copyCheckout } from './checkout-copy.ts';
import { buildArgs, type ReproPlan, type RunPlan, startupArgs, umaskText } from './plan.ts';

export interface ReproDeps {
  runner: CommandRunner;
  log: Logger;
}

export type ReproOutcome =
  | { kind: 'compared'; rows: ComparedArtifact[]; scratchBytes: number }
  /** A build was stopped by a signal: icos exits with this status. */
  | { kind: 'interrupted'; status: number };

/** The run's name as the table shows it. */
export function runLabel(run: RunPlan): string {
  return run.name.toUpperCase();
}

function describeRun(run: RunPlan): string {
  const where = run.copiesCheckout ? `a copy of the checkout at ${run.workspace}` : `the checkout ${run.workspace}`;
  return `umask ${umaskText(run.umask)}, TZ=${run.timeZone}, LANG=LC_ALL=${run.locale}, TMPDIR=${run.tmpDir}, in ${where}`;
}

/**
 * Stops a run's Bazel server by its PID file, synchronously (icos is exiting on a signal): its
 * build would otherwise go on writing into the scratch folder being removed.
 */
function killServerSync(run: RunPlan): void {
  try {
    const pid = Number(readFileSync(path.join(run.outputBase, 'server', 'server.pid.txt'), 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGTERM');
  } catch {
    // No server (never started, or already shut down).
  }
}

async function shutdownServer(run: RunPlan, deps: ReproDeps): Promise<void> {
  // `bazel shutdown` would start a server only to stop it.
  if ((await stat(path.join(run.outputBase, 'server', 'server.pid.txt')).catch(() => undefined)) === undefined) return;
  await deps.runner.run('bazel', [...startupArgs(run), 'shutdown'], { cwd: run.workspace, env: run.env }).catch((error: unknown) => {
    deps.log.warn(`repro-check: the Bazel server of build ${runLabel(run)} did not shut down (it quits when idle): ${(error as Error).message}`);
  });
}

/** Builds the patterns in one run; returns the exit status of a build stopped by a signal. */
async function build(plan: ReproPlan, run: RunPlan, deps: ReproDeps): Promise<number> {
  deps.log.info(`repro-check: build ${runLabel(run)}: ${describeRun(run)}`);
  // The umask is set by a shell in front of Bazel: its server inherits it, and so every action.
  const status = await deps.runner.interactive(
    'sh',
    ['-c', 'umask "$1" && cd "$2" && shift 2 && exec "$@"', 'repro-check', umaskText(run.umask), run.workspace, 'bazel', ...buildArgs(run, plan.patterns)],
    { env: run.env },
  );
  if (status === 0 || status > 128) return status;
  throw new UserError(`repro-check: build ${runLabel(run)} of ${plan.patterns.join(' ')} failed (bazel exit status ${status}, its output is above)`);
}

/** Every output file of a finished run, by name, with its size and sha256. */
async function digestOutputs(run: RunPlan): Promise<Map<string, Digest & { path: string }>> {
  const events = await readFile(run.buildEvents, 'utf8').catch((error: unknown) => {
    throw new UserError(MESSAGES.cannotRead(`build events of build ${runLabel(run)} "${run.buildEvents}"`, error));
  });
  const digests = new Map<string, Digest & { path: string }>();
  for (const output of parseBuildEvents(events, run.buildEvents)) {
    for (const file of await expandArtifact(output)) digests.set(file.name, { ...(await digestFile(file.path)), path: file.path });
  }
  return digests;
}

async function scratchBytes(scratch: string, runner: CommandRunner): Promise<number> {
  const { stdout } = await runner.run('du', ['-sb', scratch]);
  return Number(stdout.split('\t')[0]);
}

/** Removes the scratch folder: Bazel leaves its outputs read-only, so write access is given back first. */
export async function removeScratch(scratch: string, runner: CommandRunner): Promise<void> {
  await runner.run('chmod', ['-R', 'u+w', scratch]).catch(() => undefined);
  await rm(scratch, { recursive: true, force: true });
}

/**
 * Runs both builds one after the other (two at once would only compete for the same cores), each
 * server shut down as soon as its outputs are read, then pairs their outputs. The scratch folder
 * (`scratch`, which holds both runs') is measured at the end, its peak, and removed unless `keep`.
 */
export async function runReproCheck(plan: ReproPlan, scratch: string, deps: ReproDeps, keep: boolean): Promise<ReproOutcome> {
  const stopOnSignal = onExitOrSignal(() => {
    for (const run of plan.runs) killServerSync(run);
    if (!keep) rmSync(scratch, { recursive: true, force: true });
  });
  try {
    const digests: Map<string, Digest & { path: string }>[] = [];
    for (const run of plan.runs) {
      await mkdir(run.tmpDir, { recursive: true });
      if (run.copiesCheckout) {
        const files = await copyCheckout(plan.checkout, run.workspace, run.umask, deps);
        deps.log.info(`repro-check: copied ${files} files of the checkout to ${run.workspace}`);
      }
      const status = await build(plan, run, deps);
      if (status !== 0) return { kind: 'interrupted', status };
      digests.push(await digestOutputs(run));
      await shutdownServer(run, deps);
    }
    const rows = pairArtifacts(digests[0]!, digests[1]!);
    return { kind: 'compared', rows, scratchBytes: await scratchBytes(scratch, deps.runner) };
  } finally {
    for (const run of plan.runs) await shutdownServer(run, deps);
    stopOnSignal();
    if (!keep) await removeScratch(scratch, deps.runner);
  }
}
