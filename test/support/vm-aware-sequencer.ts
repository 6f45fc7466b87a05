/**
 * The order in which vitest hands test files to its workers. Every QEMU boot waits for the one
 * VM slot (vm-slot.ts), so a worker holding a VM file is mostly waiting: the two VM files that
 * start the chain go first (they build their env before they boot), then the VM files that build
 * no env (they use the slot while those two build), then every file that needs no VM (a third
 * worker runs them while the VMs boot, builds included), then the other VM files. Within each
 * group vitest's own order (failed first, then longest, or largest when nothing is cached).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The files that boot a VM: they take the slot themselves or through bootUntil. */
function bootsVm(file: TestSpecification): boolean {
  return /\b(takeVmSlot|bootUntil)\(/.test(readFileSync(file.moduleId, 'utf8'));
}

/** Whether the file, or a module it imports by a relative path, builds an env with Bazel. */
function buildsEnv(file: TestSpecification): boolean {
  const source = readFileSync(file.moduleId, 'utf8');
  const imported = [...source.matchAll(/from '(\.{1,2}\/[^']+\.ts)'/g)].map((match) => path.resolve(path.dirname(file.moduleId), match[1]!));
  return [source, ...imported.map((module) => readFileSync(module, 'utf8'))].some((text) => /\bbuildEnv\(/.test(text));
}

export class VmAwareSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const vm = sorted.filter(bootsVm);
    const [first, later] = [vm.slice(0, 2), vm.slice(2)];
    const rest = sorted.filter((file) => !bootsVm(file));
    return [...first, ...later.filter((file) => !buildsEnv(file)), ...rest, ...later.filter(buildsEnv)];
  }
}
