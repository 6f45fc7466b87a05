/**
 * The order in which vitest hands test files to its workers. Every QEMU boot waits for the one
 * VM slot (vm-slot.ts), so a worker holding a VM file is mostly waiting: the two VM files that
 * start the chain go first, then every file that needs no VM (a third worker runs them while
 * the VMs boot, builds included), then the other VM files. Within each group vitest's own order
 * (failed first, then longest, or largest when nothing is cached).
 */
import { readFileSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The files that boot a VM: they take the slot themselves or through bootUntil. */
function bootsVm(file: TestSpecification): boolean {
  return /\b(takeVmSlot|bootUntil)\(/.test(readFileSync(file.moduleId, 'utf8'));
}

export class VmAwareSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const vm = sorted.filter(bootsVm);
    const rest = sorted.filter((file) => !bootsVm(file));
    return [...vm.slice(0, 2), ...rest, ...vm.slice(2)];
  }
}
