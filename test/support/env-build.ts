/**
 * Builds one env's images with Bazel (the `icos_build` targets of envs/<os>/<env>) and unpacks
 * the raw images a test reads, for any OS: the tests name the archives they need.
 *
 * Unpacked images go to build/<os>/<env>/ and are reused while their archive is the same file.
 * Needs the Docker Engine and the local registry (`bash tools/services.sh`) for the container step.
 */
import { appendFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner, Logger } from '../../tools/src/definitions.ts';
import { UserError } from '../../tools/src/errors.ts';
import { ExecaCommandRunner } from '../../tools/src/infra/execa-command-runner.ts';
import { unpackFramedArchive } from '../../tools/src/kinds/sparse-tar/reader.ts';
import { REPO_ROOT } from '../../tools/src/lib/repo-root.ts';
import { prodKeyDir, signingKeysDefine } from './prod-keys.ts';

export const REPO = REPO_ROOT;

const quiet: Logger = { info: () => {}, verbose: () => {}, warn: () => {} };

/** A packed image of the env and the member of it that becomes `<out>` in the env's folder. */
export interface Unpack {
  archive: string;
  member: string;
  out: string;
}

export const DISK: Unpack = { archive: 'disk-img.tar.zst', member: 'disk.img', out: 'disk.img' };
export const ROOT: Unpack = { archive: 'partition-root.tzst', member: 'partition.img', out: 'root.img' };
export const BOOT: Unpack = { archive: 'partition-boot.tzst', member: 'partition.img', out: 'boot.img' };

export interface EnvBuildRequest {
  os: string;
  env: string;
  /** Archives to unpack (default: disk, root and boot). */
  unpack?: readonly Unpack[];
  /** Further outputs to build with them, not unpacked (e.g. update-img-test.tar.zst): see `output`. */
  outputs?: readonly string[];
  /** Directory of the unpacked images (default build/ in the repository). */
  outRoot?: string;
  runner?: CommandRunner;
  log?: Logger;
}

export interface EnvBuild {
  /** out name (disk.img, root.img, ...) -> unpacked raw image. */
  images: Record<string, string>;
  /** A Bazel output of the env (under bazel-bin). */
  output(name: string): string;
}

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
async function unpack(archive: string, member: string, out: string, runner: CommandRunner, artifact: string): Promise<void> {
  const stamp = `${out}.source`;
  const identity = `${archive} ${await identityOf(archive)}`;
  if ((await readFile(stamp, 'utf8').catch(() => undefined))?.trim() === identity) return;
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
}

/** Builds one env's images with Bazel and unpacks the raw images asked for. */
export async function buildEnv(request: EnvBuildRequest): Promise<EnvBuild> {
  const log = request.log ?? quiet;
  const runner = request.runner ?? new ExecaCommandRunner(log);
  const outDir = path.join(path.resolve(request.outRoot ?? path.join(REPO, 'build')), request.os, request.env);
  const artifact = `${request.os}(${request.env})`;
  const pkg = `envs/${request.os}/${request.env}`;
  const wanted = request.unpack ?? [DISK, ROOT, BOOT];
  const names = [...new Set(['rootfs-tree.tar', ...wanted.map((image) => image.archive), ...(request.outputs ?? [])])];

  const bazel = { cwd: REPO, env: bazelEnv(), artifact };
  // prod signs with keys from outside the repository (keys/README.md): a throwaway set here.
  const defines = request.env === 'prod' ? [signingKeysDefine(await prodKeyDir())] : [];
  // Each build leaves Bazel's profile (`bazel analyze-profile`) and a line of wall time, which
  // includes waiting for another test file's build: where a CI run's minutes went.
  const logDir = path.join(REPO, 'build', 'test-logs', 'bazel');
  await mkdir(logDir, { recursive: true });
  const profile = `--profile=${path.join(logDir, `${request.os}-${request.env}-${process.pid}-${Date.now()}.profile.gz`)}`;
  const started = new Date();
  await runner.run('bazel', ['build', profile, ...defines, ...names.map((name) => `//${pkg}:${name}`)], bazel);
  const seconds = ((Date.now() - started.getTime()) / 1000).toFixed(1);
  await appendFile(path.join(logDir, 'builds.log'), `${started.toISOString()} ${seconds} s ${pkg}: ${names.join(' ')}\n`);
  const binDir = (await runner.run('bazel', ['info', 'bazel-bin'], bazel)).stdout.trim();
  const output = (name: string) => path.join(binDir, pkg, name);

  await mkdir(outDir, { recursive: true });
  const images: Record<string, string> = {};
  for (const image of wanted) {
    images[image.out] = path.join(outDir, image.out);
    await unpack(output(image.archive), image.member, images[image.out]!, runner, artifact);
  }
  return { images, output };
}
