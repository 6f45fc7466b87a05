import path from 'node:path';

/**
 * The plan of `icos repro-check` (pure): two builds of the same patterns that share nothing a
 * build could leak into its outputs. Each has its own Bazel output base (so its own server, no
 * action shared), its own TMPDIR, and a different umask, time zone and locale; run B also builds
 * from a copy of the checkout at another path, as a second clone on another machine would.
 */

/** What differs between the two builds, besides the paths. */
export interface Variation {
  /** Run name, used in the table and as the scratch sub-folder. */
  name: 'a' | 'b';
  umask: number;
  /** TZ: UTC against a zone 14 hours ahead, so any local date differs from UTC's. */
  timeZone: string;
  /** LANG and LC_ALL: C.UTF-8 against plain POSIX (every system has both). */
  locale: string;
  /** Whether this run builds from a copy of the checkout (another path) instead of the checkout. */
  copiesCheckout: boolean;
}

export const VARIATIONS: readonly [Variation, Variation] = [
  { name: 'a', umask: 0o022, timeZone: 'UTC', locale: 'C.UTF-8', copiesCheckout: false },
  { name: 'b', umask: 0o077, timeZone: 'Pacific/Kiritimati', locale: 'POSIX', copiesCheckout: true },
];

/** Variables of the caller's environment each build gets as they are (engine, registry, Bazel's own). */
export const PASSED_ENV = ['HOME', 'USER', 'PATH', 'DOCKER_HOST', 'ICOS_REGISTRY', 'ICOS_NODE'] as const;

/** One of the two builds: where it runs and with what. */
export interface RunPlan extends Variation {
  /** The Bazel workspace it builds in: the checkout, or its copy. */
  workspace: string;
  /** Its scratch folder: output base, TMPDIR, build event file (and the copy) are inside. */
  scratch: string;
  outputBase: string;
  tmpDir: string;
  /** Build Event Protocol stream (JSON lines): lists every output file of the patterns. */
  buildEvents: string;
  /** The environment of its Bazel client and server (actions get TZ, LANG and LC_ALL too). */
  env: Record<string, string>;
}

export interface ReproPlan {
  checkout: string;
  patterns: readonly string[];
  runs: readonly [RunPlan, RunPlan];
}

/**
 * Bazel options of every build: no cache of any kind (each action really runs twice, the container
 * step included), and no `bazel-*` links: `--symlink_prefix=/` makes Bazel neither create nor
 * re-point them, so the checkout's links keep naming the user's own output base.
 */
export const BUILD_FLAGS = [
  '--symlink_prefix=/',
  '--disk_cache=',
  '--remote_cache=',
  '--noremote_accept_cached',
  '--noremote_upload_local_results',
  // The varied zone and locale reach the actions too, not only Bazel (strict action env drops them).
  '--action_env=TZ',
  '--action_env=LANG',
  '--action_env=LC_ALL',
] as const;

/** Idle time after which a Bazel server of a run quits by itself (a killed run leaves none for long). */
export const SERVER_IDLE_SECONDS = 300;

export function planReproCheck(options: {
  checkout: string;
  scratch: string;
  patterns: readonly string[];
  callerEnv: Readonly<Record<string, string | undefined>>;
}): ReproPlan {
  const passed: Record<string, string> = {};
  for (const name of PASSED_ENV) {
    const value = options.callerEnv[name];
    if (value !== undefined) passed[name] = value;
  }
  const runs = VARIATIONS.map((variation): RunPlan => {
    const scratch = path.join(options.scratch, variation.name);
    // Different names too: a path that leaks into an output shows as a difference.
    const tmpDir = path.join(scratch, `tmp-${variation.name}`);
    return {
      ...variation,
      workspace: variation.copiesCheckout ? path.join(scratch, 'checkout') : options.checkout,
      scratch,
      outputBase: path.join(scratch, 'output-base'),
      tmpDir,
      buildEvents: path.join(scratch, 'build-events.json'),
      env: { ...passed, TZ: variation.timeZone, LANG: variation.locale, LC_ALL: variation.locale, TMPDIR: tmpDir },
    };
  }) as [RunPlan, RunPlan];
  return { checkout: options.checkout, patterns: options.patterns, runs };
}

/** `bazel` startup options of a run: its own output base and server. */
export function startupArgs(run: RunPlan): string[] {
  return [`--output_base=${run.outputBase}`, `--max_idle_secs=${SERVER_IDLE_SECONDS}`];
}

/** The `bazel build` command line of a run (after `bazel`). */
export function buildArgs(run: RunPlan, patterns: readonly string[]): string[] {
  return [...startupArgs(run), 'build', ...BUILD_FLAGS, `--build_event_json_file=${run.buildEvents}`, '--', ...patterns];
}

/** The mode a clone made under `umask` gives a file git tracks (git records only the x bit). */
export function modeUnderUmask(executable: boolean, umask: number): number {
  return (executable ? 0o777 : 0o666) & ~umask;
}

/** `0o022` as the shell writes it. */
export function umaskText(umask: number): string {
  return umask.toString(8).padStart(4, '0');
}

/** True when `inner` is `outer` or below it (both absolute, resolved). */
export function isWithin(inner: string, outer: string): boolean {
  const relative = path.relative(outer, inner);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
