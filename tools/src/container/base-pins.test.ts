import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.ts';
import { basePinFile, checkBaseForEnv, DEFAULT_REGISTRY, inRegistry, parsePinText, registryHost, REPO_ROOT } from './base-pins.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const file = `${REPO_ROOT}envs/guestos/context/docker-base.prod`;

function messageOf(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('parsePinText', () => {
  it('reads one reference by digest, skipping comments and blank lines', () => {
    const pinned = parsePinText(file, `# weekly\n\nguestos-base@${DIGEST}\n`);
    expect(pinned).toEqual({ repository: 'guestos-base', digest: DIGEST, reference: `guestos-base@${DIGEST}` });
  });

  it('puts the pinned image in the configured registry', () => {
    const pinned = parsePinText(file, `guestos-base@${DIGEST}\n`);
    expect(inRegistry(pinned, 'registry.example.org:443')).toBe(`registry.example.org:443/guestos-base@${DIGEST}`);
    expect(inRegistry(pinned)).toBe(`${registryHost()}/guestos-base@${DIGEST}`);
  });

  it.each([
    ['a tag only', 'guestos-base:latest\n', 'envs/guestos/context/docker-base.prod:1: reference "guestos-base:latest": a reference without a digest is refused: expected "name@sha256:<digest>"'],
    ['a short digest', '\nguestos-base@sha256:abc\n', 'envs/guestos/context/docker-base.prod:2: reference "guestos-base@sha256:abc": expected "name@sha256:" followed by 64 lower-case hex digits'],
    ['two references', `a@${DIGEST}\n# x\nb@${DIGEST}\n`, `envs/guestos/context/docker-base.prod:3: second reference "b@${DIGEST}": a pin file holds exactly one`],
    [
      'a registry host',
      `127.0.0.1:5000/guestos-base@${DIGEST}\n`,
      `envs/guestos/context/docker-base.prod:1: reference "127.0.0.1:5000/guestos-base@${DIGEST}" names the registry 127.0.0.1:5000: a pin is "guestos-base@${DIGEST}", the registry is ICOS_REGISTRY`,
    ],
    ['nothing', '# empty\n', 'envs/guestos/context/docker-base.prod: no image reference: expected one line "name@sha256:<digest>"'],
  ])('refuses %s with a located message', (_name, text, message) => {
    expect(messageOf(() => parsePinText(file, text))).toBe(message);
  });
});

describe('registryHost', () => {
  it('is ICOS_REGISTRY, or the local registry when unset', () => {
    expect(registryHost({})).toBe(DEFAULT_REGISTRY);
    expect(registryHost({ ICOS_REGISTRY: 'registry.example.org' })).toBe('registry.example.org');
    expect(registryHost({ ICOS_REGISTRY: '[::1]:5001' })).toBe('[::1]:5001');
  });

  it.each(['', 'http://127.0.0.1:5000', '127.0.0.1:5000/x', 'a b'])('refuses ICOS_REGISTRY %j, naming it', (value) => {
    expect(messageOf(() => registryHost({ ICOS_REGISTRY: value }))).toMatch(/^ICOS_REGISTRY .*: not a registry host with an optional port \(e\.g\. 127\.0\.0\.1:5000\)$/);
  });
});

describe('checkBaseForEnv', () => {
  it('lets dev use any base', () => {
    expect(() => checkBaseForEnv('guestos', 'dev', 'debian:bookworm', '--base-image')).not.toThrow();
  });

  it('refuses an unpinned base for prod', () => {
    expect(messageOf(() => checkBaseForEnv('guestos', 'prod', '127.0.0.1:5000/guestos-base:latest', '--base-image'))).toBe(
      '--base-image: base image "127.0.0.1:5000/guestos-base:latest" is not pinned by digest: a prod build takes only "name@sha256:<digest>"',
    );
  });

  it('refuses the dev base for prod', () => {
    expect(messageOf(() => checkBaseForEnv('guestos', 'prod', `127.0.0.1:5000/guestos-base-dev@${DIGEST}`, 'x'))).toBe(
      `x: base image "127.0.0.1:5000/guestos-base-dev@${DIGEST}" is not the prod base "127.0.0.1:5000/guestos-base": a prod build refuses dev or foreign bases`,
    );
  });

  it('takes the prod base by digest', () => {
    expect(() => checkBaseForEnv('guestos', 'prod', `127.0.0.1:5000/guestos-base@${DIGEST}`, 'x')).not.toThrow();
  });

  it('names the pin file of each env', () => {
    expect(basePinFile('guestos', 'dev')).toBe(`${REPO_ROOT}envs/guestos/context/docker-base.dev`);
  });
});
