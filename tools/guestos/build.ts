/**
 * Builds one GuestOS env's images with Bazel (the `icos_build` targets of envs/guestos/<env>) and
 * unpacks the raw images the boot and tree tests read.
 *
 *   node --import tsx tools/guestos/build.ts --env dev [--out build/guestos] [--no-pack]
 *
 * Outputs: <out>/<env>/{disk.img, root.img, boot.img} (unpacked from bazel-bin, reused while the
 * archive is the same file); root hash, rootfs tar and packs are paths under bazel-bin.
 * Needs Docker Engine and the local registry (`bash tools/services.sh`) for the container step.
 */
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CommandRunner, Logger } from '../src/definitions.ts';
import { UserError } from '../src/errors.ts';
import { ConsoleLogger } from '../src/infra/console-logger.ts';
import { ExecaCommandRunner } from '../src/infra/execa-command-runner.ts';
import { unpackFramedArchive } from '../src/kinds/sparse-tar/reader.ts';
import { GUESTOS_ENVS, packageOf, REPO, type GuestOsEnv } from './layout.ts';

export interface BuildRequest {
  env: GuestOsEnv;
  /** Directory of the unpacked images (default build/guestos in the repository). */
  outRoot?: string;
  /** Also build the shipped archives (disk-img.tar.zst, update-img.tar.zst). */
  pack?: boolean;
  runner?: CommandRunner;
  log?: Logger;
}

/** Raw images (in outDir) and Bazel outputs (under bazel-bin) of one env. */
export interface BuildResult {
  disk: string;
  root: string;
  boot: string;
  /** The dm-verity root hash of `root`, hex and a newline. */
  rootHash: string;
  /** The container's root tree, which the images were made from. */
  rootfsTar: string;
  diskPack?: string;
  updatePack?: string;
  outDir: string;
  /** Every raw image was already unpacked from the same archives. */
  reused: boolean;
}

/** A packed image Bazel makes, and the member of it that becomes a raw image in outDir. */
const UNPACKED = [
  { key: 'disk', archive: 'disk-img.tar.zst', member: 'disk.img', out: 'disk.img' },
  { key: 'root', archive: 'partition-root.tzst', member: 'partition.img', out: 'root.img' },
  { key: 'boot', archive: 'partition-boot.tzst', member: 'partition.img', out: 'boot.img' },
] as const;

/** Bazel sees only this much of the caller's environment: its output base lives under HOME. */
function bazelEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['HOME', 'USER', 'DOCKER_HOST']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Which archive a raw image came from: Bazel replaces an output file when it rebuilds it. */
async function identityOf(file: string): Promise<string> {
  const info = await stat(file);
  return `${info.size} ${info.mtimeMs} ${info.ino}`;
}

/** Unpacks `member` of the archive to `out` (sparse), unless the stamp says it came from this archive. */
async function unpack(archive: string, member: string, out: string, runner: CommandRunner, artifact: string): Promise<boolean> {
  const stamp = `${out}.source`;
  const identity = `${archive} ${await identityOf(archive)}`;
  if ((await readFile(stamp, 'utf8').catch(() => undefined))?.trim() === identity) return true;
  await rm(stamp, { force: true });
  // Extracted beside the output and renamed, so an interrupted run never leaves a partial image.
  // The scratch folder is this call's own: two test files may unpack the same env at once.
  const scratch = await mkdtemp(`${out}.unpacking-`);
  try {
    const unpacked = await unpackFramedArchive(archive, scratch, scratch, runner);
    if (path.basename(unpacked) !== member) throw new UserError(`${artifact}: ${archive}: holds "${path.basename(unpacked)}", expected "${member}"`);
    await rename(unpacked, out);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  await writeFile(stamp, `${identity}\n`);
  return false;
}

/** Builds one GuestOS env's images with Bazel and unpacks the raw disk, root and boot images. */
export async function buildGuestOs(request: BuildRequest): Promise<BuildResult> {
  const log = request.log ?? new ConsoleLogger(false);
  const runner = request.runner ?? new ExecaCommandRunner(log);
  const outDir = path.join(path.resolve(request.outRoot ?? path.join(REPO, 'build/guestos')), request.env);
  const artifact = `guestos(${request.env})`;
  const pkg = packageOf(request.env);
  const names = ['rootfs-tree.tar', ...UNPACKED.map((image) => image.archive), ...(request.pack === false ? [] : ['update-img.tar.zst'])];

  log.info(`${artifact}: bazel build //${pkg}:{${names.join(',')}}`);
  const bazel = { cwd: REPO, env: bazelEnv(), artifact };
  await runner.run('bazel', ['build', ...names.map((name) => `//${pkg}:${name}`)], bazel);
  const binDir = (await runner.run('bazel', ['info', 'bazel-bin'], bazel)).stdout.trim();
  const output = (name: string) => path.join(binDir, pkg, name);

  await mkdir(outDir, { recursive: true });
  const raw: Record<string, string> = {};
  let reused = true;
  for (const image of UNPACKED) {
    raw[image.key] = path.join(outDir, image.out);
    if (!(await unpack(output(image.archive), image.member, raw[image.key]!, runner, artifact))) {
      log.info(`${artifact}: unpacked ${image.out} from ${image.archive}`);
      reused = false;
    }
  }
  return {
    disk: raw.disk!,
    root: raw.root!,
    boot: raw.boot!,
    rootHash: output('partition-root-hash'),
    rootfsTar: output('rootfs-tree.tar'),
    ...(request.pack === false ? {} : { diskPack: output('disk-img.tar.zst'), updatePack: output('update-img.tar.zst') }),
    outDir,
    reused,
  };
}

async function cli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      env: { type: 'string' },
      out: { type: 'string' },
      'no-pack': { type: 'boolean', default: false },
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
    const result = await buildGuestOs({ env, outRoot: values.out, pack: !values['no-pack'], log });
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
