import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.ts';
import { basePinFile, checkBaseForEnv, parsePinText, REPO_ROOT } from './base-pins.ts';

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
    const pinned = parsePinText(file, `# weekly\n\n127.0.0.1:5000/guestos-base@${DIGEST}\n`);
    expect(pinned).toEqual({
      repository: '127.0.0.1:5000/guestos-base',
      digest: DIGEST,
      reference: `127.0.0.1:5000/guestos-base@${DIGEST}`,
    });
  });

  it.each([
    ['a tag only', 'guestos-base:latest\n', 'envs/guestos/context/docker-base.prod:1: reference "guestos-base:latest": a reference without a digest is refused: expected "name@sha256:<digest>"'],
    ['a short digest', '\nguestos-base@sha256:abc\n', 'envs/guestos/context/docker-base.prod:2: reference "guestos-base@sha256:abc": expected "name@sha256:" followed by 64 lower-case hex digits'],
    ['two references', `a@${DIGEST}\n# x\nb@${DIGEST}\n`, `envs/guestos/context/docker-base.prod:3: second reference "b@${DIGEST}": a pin file holds exactly one`],
    ['nothing', '# empty\n', 'envs/guestos/context/docker-base.prod: no image reference: expected one line "name@sha256:<digest>"'],
  ])('refuses %s with a located message', (_name, text, message) => {
    expect(messageOf(() => parsePinText(file, text))).toBe(message);
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
