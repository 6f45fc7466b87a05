import { describe, expect, it } from 'vitest';
import { checkImageReference, imageReferenceProblem } from './image-reference.ts';

const DIGEST = `sha256:${'0a'.repeat(32)}`;

describe('imageReferenceProblem: an image reference is checked before any engine request', () => {
  it.each([
    'debian',
    'debian:bookworm',
    `127.0.0.1:5000/guestos-base-dev@${DIGEST}`,
    `127.0.0.1:5000/guestos-base-dev:latest@${DIGEST}`,
    'localhost/a/b__c-d.e:v1.2',
    'Registry.Example.com/team/app',
    '[::1]:5000/app',
  ])('takes %s', (reference) => {
    expect(imageReferenceProblem(reference)).toBeUndefined();
  });

  it.each([
    ['UPPER CASE', 'its name part "UPPER CASE" is not lowercase letters and digits joined by ".", "_", "__" or "-"'],
    ['Debian', 'its name part "Debian" is not lowercase letters and digits joined by ".", "_", "__" or "-"'],
    ['', 'it has no name'],
    ['debian:', 'its tag is not up to 128 letters, digits, "_", "." and "-"'],
    ['debian@sha256:abc', 'its digest is not "sha256:" and 64 lowercase hex digits'],
    ['a//b', 'its name part "" is not lowercase letters and digits joined by ".", "_", "__" or "-"'],
    ['bad_host.:5000/app', 'its registry "bad_host.:5000" is not a host name with an optional port'],
    ['app\x1b[2J', 'its name part "app\\x1b[2J" is not lowercase letters and digits joined by ".", "_", "__" or "-"'],
  ])('refuses %j', (reference, problem) => {
    expect(imageReferenceProblem(reference)).toBe(problem);
  });

  it('names the flag and the value, control characters escaped', () => {
    expect(() => checkImageReference('UPPER CASE', '--base-image')).toThrow(
      '--base-image "UPPER CASE": not an image reference ([registry/]name[:tag][@sha256:<digest>]): its name part "UPPER CASE" is',
    );
  });
});
