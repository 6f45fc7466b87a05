import { describe, expect, it } from 'vitest';
import { BUILD_FLAGS, buildArgs, isWithin, modeUnderUmask, planReproCheck, umaskText, VARIATIONS } from './plan.ts';

const plan = planReproCheck({
  checkout: '/src/checkout',
  scratch: '/scratch/icos-repro-check-x',
  patterns: ['//envs/a/dev/...'],
  callerEnv: { HOME: '/root', DOCKER_HOST: 'unix:///run/engine.sock', ICOS_REGISTRY: 'registry.example:5000', SECRET_TOKEN: 'never passed', TZ: 'Europe/Zurich' },
});
const [a, b] = plan.runs;

describe('repro-check plan', () => {
  it('varies umask, time zone, locale and TMPDIR between the two builds', () => {
    for (const key of ['umask', 'timeZone', 'locale'] as const) expect(a[key]).not.toEqual(b[key]);
    expect(a.env.TZ).not.toBe(b.env.TZ);
    expect(a.env.LANG).not.toBe(b.env.LANG);
    expect(a.env.LC_ALL).toBe(a.env.LANG);
    expect(a.env.TMPDIR).not.toBe(b.env.TMPDIR);
    expect([a.umask, b.umask]).toContain(0o022);
  });

  it('builds A in the checkout and B in a copy at another path, each with its own output base and scratch', () => {
    expect(a.workspace).toBe('/src/checkout');
    expect(b.workspace).toBe('/scratch/icos-repro-check-x/b/checkout');
    expect(a.outputBase).not.toBe(b.outputBase);
    for (const run of plan.runs) {
      for (const own of [run.outputBase, run.tmpDir, run.buildEvents]) expect(isWithin(own, run.scratch)).toBe(true);
      expect(isWithin(run.scratch, '/scratch/icos-repro-check-x')).toBe(true);
    }
    expect(isWithin(a.scratch, b.scratch) || isWithin(b.scratch, a.scratch)).toBe(false);
  });

  it("passes the engine, registry and Bazel's own variables through, and nothing else of the caller's", () => {
    for (const run of plan.runs) {
      expect(run.env.DOCKER_HOST).toBe('unix:///run/engine.sock');
      expect(run.env.ICOS_REGISTRY).toBe('registry.example:5000');
      expect(run.env.HOME).toBe('/root');
      expect(run.env).not.toHaveProperty('SECRET_TOKEN');
      expect(run.env.TZ).not.toBe('Europe/Zurich');
    }
  });

  it('uses no cache and leaves the bazel-* links alone, output base before the command', () => {
    const args = buildArgs(b, plan.patterns);
    expect(args[0]).toBe(`--output_base=${b.outputBase}`);
    expect(args.indexOf('build')).toBeGreaterThan(0);
    for (const flag of ['--symlink_prefix=/', '--disk_cache=', '--remote_cache=', '--noremote_accept_cached']) expect(args).toContain(flag);
    expect(args).toContain(`--build_event_json_file=${b.buildEvents}`);
    expect(args.slice(-2)).toEqual(['--', '//envs/a/dev/...']);
    expect(BUILD_FLAGS).toContain('--action_env=TZ');
  });

  it('gives checked-out files the modes git gives them under each umask', () => {
    expect(modeUnderUmask(false, 0o022)).toBe(0o644);
    expect(modeUnderUmask(true, 0o022)).toBe(0o755);
    expect(modeUnderUmask(false, 0o077)).toBe(0o600);
    expect(modeUnderUmask(true, 0o077)).toBe(0o700);
    expect(umaskText(0o077)).toBe('0077');
    expect(VARIATIONS.filter((variation) => variation.copiesCheckout)).toHaveLength(1);
  });

  it('tells a folder inside the checkout from one beside it', () => {
    expect(isWithin('/src/checkout/tmp', '/src/checkout')).toBe(true);
    expect(isWithin('/src/checkout', '/src/checkout')).toBe(true);
    expect(isWithin('/src/checkout-2', '/src/checkout')).toBe(false);
    expect(isWithin('/tmp', '/src/checkout')).toBe(false);
  });
});
