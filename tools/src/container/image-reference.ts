import { UserError } from '../errors.ts';
import { quoted } from '../messages.ts';

/**
 * The shape of a container image reference, `[registry[:port]/]name[/name...][:tag][@sha256:<hex>]`,
 * checked before any engine request: a malformed one otherwise reaches the engine's HTTP client,
 * which fails with its own words (or not at all) instead of naming the flag.
 */

/** A registry host: DNS labels (any case, as host names are) or a bracketed IPv6 address, and a port. */
const REGISTRY = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?$/;
/** One path component of the repository name: lowercase, separators only between alphanumerics. */
const NAME_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** The engines' limit on a repository name. */
const MAX_NAME_LENGTH = 255;

/** True when `text` is a registry host with an optional port (`127.0.0.1:5000`, `registry.example.org`). */
export function isRegistryHost(text: string): boolean {
  return REGISTRY.test(text);
}

/** Why `reference` is not an image reference, or undefined when it is one. */
export function imageReferenceProblem(reference: string): string | undefined {
  const at = reference.indexOf('@');
  const named = at === -1 ? reference : reference.slice(0, at);
  if (at !== -1 && !DIGEST.test(reference.slice(at + 1))) return 'its digest is not "sha256:" and 64 lowercase hex digits';
  const lastSlash = named.lastIndexOf('/');
  const colon = named.indexOf(':', lastSlash + 1);
  const name = colon === -1 ? named : named.slice(0, colon);
  if (colon !== -1 && !TAG.test(named.slice(colon + 1))) return 'its tag is not up to 128 letters, digits, "_", "." and "-"';
  if (name === '') return 'it has no name';
  if (name.length > MAX_NAME_LENGTH) return `its name is longer than ${MAX_NAME_LENGTH} characters`;
  const components = name.split('/');
  // As the engines read it: the first component is a registry when it has a "." or ":" or is localhost.
  const first = components[0]!;
  if (components.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!REGISTRY.test(first)) return `its registry ${quoted(first)} is not a host name with an optional port`;
    components.shift();
  }
  const bad = components.find((component) => !NAME_COMPONENT.test(component));
  if (bad !== undefined) return `its name part ${quoted(bad)} is not lowercase letters and digits joined by ".", "_", "__" or "-"`;
  return undefined;
}

/** Throws a UserError naming `where` (`--base-image`) when `reference` is not an image reference. */
export function checkImageReference(reference: string, where: string): void {
  const problem = imageReferenceProblem(reference);
  if (problem !== undefined) {
    throw new UserError(`${where} ${quoted(reference)}: not an image reference ([registry/]name[:tag][@sha256:<digest>]): ${problem}`);
  }
}
