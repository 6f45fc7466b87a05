/**
 * Builds GuestOS images with the icos CLI, reusing outputs whose inputs did not change.
 *
 *   node --import tsx tools/guestos/build.ts --env dev [--out build/guestos] [--version V] [--no-pack] [--rebuild]
 *
 * Outputs: <out>/rootfs-<prod|dev>.tar (container builds, shared by dev and dev-malicious) and
 * <out>/<env>/{disk.img, root.img, boot.img, root-hash, disk-img.tar.zst, update-img.tar.zst, ...}.
 * Needs Docker Engine and the local registry (`bash tools/services.sh`) for the container step.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CommandRunner, Logger } from '../src/definitions.ts';
import { UserError } from '../src/errors.ts';
import { ConsoleLogger } from '../src/infra/console-logger.ts';
import { ExecaCommandRunner } from '../src/infra/execa-command-runner.ts';
import { assembleGuestOs, type GuestOsImages, type GuestOsPacks, packGuestOs } from './assemble.ts';
import { inputDigest } from './input-digest.ts';
import { containerEnvOf, DEFAULT_VERSION, GUESTOS_ENVS, ICOS_BIN, INPUTS, REPO, type GuestOsEnv } from './layout.ts';
import { buildStandIns } from './stand-ins.ts';

export interface BuildRequest {
  env: GuestOsEnv;
  /** Directory of all GuestOS outputs (default build/guestos in the repository). */
  outRoot?: string;
  version?: string;
  pack?: boolean;
  /** Ignore reusable outputs. */
  rebuild?: boolean;
  runner?: CommandRunner;
  log?: Logger;
}

export interface BuildResult extends GuestOsImages, Partial<GuestOsPacks> {
  rootfsTar: string;
  outDir: string;
  reused: boolean;
}

/** The files a container build reads: its context, the component manifest and every component it names. */
async function containerInputs(): Promise<string[]> {
  const manifest = path.join(INPUTS.components, 'guestos.json');
  const sources = Object.keys(JSON.parse(await readFile(manifest, 'utf8')) as Record<string, string>);
  return [INPUTS.context, INPUTS.upstreamPin, manifest, ...sources.map((source) => path.join(INPUTS.components, source))];
}

async function readStamp(file: string): Promise<string | undefined> {
  return (await readFile(file, 'utf8').catch(() => undefined))?.trim();
}

/** The env's container root tree, rebuilt only when its inputs changed. */
async function ensureRootfs(env: GuestOsEnv, outRoot: string, rebuild: boolean, runner: CommandRunner, log: Logger) {
  const containerEnv = containerEnvOf(env);
  const tar = path.join(outRoot, `rootfs-${containerEnv}.tar`);
  const stamp = `${tar}.inputs`;
  const digest = await inputDigest(await containerInputs(), [containerEnv]);
  if (!rebuild && (await readStamp(stamp)) === digest) {
    log.info(`guestos(${env}): reusing ${path.relative(REPO, tar)}`);
    return { tar, digest };
  }
  await rm(stamp, { force: true });
  log.info(`guestos(${env}): icos rootfs --env ${containerEnv} (container build)`);
  const passThrough: Record<string, string> = process.env.DOCKER_HOST === undefined ? {} : { DOCKER_HOST: process.env.DOCKER_HOST };
  await runner.run(process.execPath, [ICOS_BIN, 'rootfs', '--os', 'guestos', '--env', containerEnv, '--out', tar], {
    artifact: `guestos(${env})`,
    env: passThrough,
  });
  await writeFile(stamp, `${digest}\n`);
  return { tar, digest };
}

/** Builds (or reuses) one GuestOS env's images. */
export async function buildGuestOs(request: BuildRequest): Promise<BuildResult> {
  const log = request.log ?? new ConsoleLogger(false);
  const runner = request.runner ?? new ExecaCommandRunner(log);
  const outRoot = path.resolve(request.outRoot ?? path.join(REPO, 'build/guestos'));
  const outDir = path.join(outRoot, request.env);
  const version = request.version ?? DEFAULT_VERSION;
  const pack = request.pack ?? true;
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(version)) throw new UserError(`guestos: --version "${version}": expected 1-128 of A-Z a-z 0-9 . _ -`);
  await mkdir(outDir, { recursive: true });

  const rootfs = await ensureRootfs(request.env, outRoot, request.rebuild ?? false, runner, log);
  const stamp = path.join(outDir, 'inputs.sha256');
  const packStamp = path.join(outDir, 'packed.sha256');
  const digest = await inputDigest(
    [INPUTS.bootloader, INPUTS.standIns, INPUTS.partitions, INPUTS.assembler],
    [rootfs.digest, request.env, version],
  );
  const at = (name: string) => path.join(outDir, name);
  let images: GuestOsImages = { disk: at('disk.img'), root: at('root.img'), boot: at('boot.img'), rootHash: at('root-hash') };
  const reused = !request.rebuild && (await readStamp(stamp)) === digest;
  if (reused) {
    log.info(`guestos(${request.env}): reusing ${path.relative(REPO, outDir)}`);
  } else {
    await rm(stamp, { force: true });
    await rm(packStamp, { force: true });
    const standIns = await buildStandIns(runner, outDir, request.env === 'dev-malicious');
    images = await assembleGuestOs({ env: request.env, rootfsTar: rootfs.tar, standIns, version, outDir, runner, log });
    // The unsigned root is an intermediate: the signed root.img starts with the same bytes.
    await rm(at('root-unsigned.img'), { force: true });
    await writeFile(stamp, `${digest}\n`);
  }
  let packs: GuestOsPacks | undefined;
  if (pack) {
    if ((await readStamp(packStamp)) === digest) {
      packs = { diskPack: at('disk-img.tar.zst'), updatePack: at('update-img.tar.zst') };
    } else {
      packs = await packGuestOs(request.env, outDir, runner, log);
      await writeFile(packStamp, `${digest}\n`);
    }
  }
  return { ...images, ...packs, rootfsTar: rootfs.tar, outDir, reused };
}

async function cli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      env: { type: 'string' },
      out: { type: 'string' },
      version: { type: 'string' },
      'no-pack': { type: 'boolean', default: false },
      rebuild: { type: 'boolean', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
    },
  });
  const log = new ConsoleLogger(values.verbose ?? false);
  try {
    const env = values.env as GuestOsEnv | undefined;
    if (env === undefined || !GUESTOS_ENVS.includes(env)) {
      throw new UserError(`guestos: --env "${values.env ?? ''}": expected one of ${GUESTOS_ENVS.join(', ')}`);
    }
    const started = Date.now();
    const result = await buildGuestOs({ env, outRoot: values.out, version: values.version, pack: !values['no-pack'], rebuild: values.rebuild, log });
    log.info(`guestos(${env}): ${result.reused ? 'up to date' : 'built'} in ${Math.round((Date.now() - started) / 1000)} s: ${result.outDir}`);
    return 0;
  } catch (error) {
    if (error instanceof UserError) {
      process.stderr.write(`icos: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await cli(process.argv.slice(2));
