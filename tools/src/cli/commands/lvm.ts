import { defineCommand, parseAssignments, UsageError } from '../command.ts';
import { readVolumeTable } from '../../inputs/volumes-csv.ts';
import { makeArtifact } from '../../kinds/kind.ts';
import { IC_OS_LVM_CREATION_TIME, lvmKind, type LvmOptions } from '../../kinds/lvm.ts';
import { lvmIdProblem, vgNameProblem } from '../../kinds/lvm/lvm-names.ts';
import { describeSize } from '../../lib/size.ts';
import { sourceDateEpoch } from '../../lib/reproducible.ts';
import { quoted } from '../../messages.ts';

/** The value of a flag, checked by `problem` (main.ts already refuses a repeated flag). */
function singleFlag(flag: string, value: string, problem?: (value: string) => string | undefined): string {
  const reason = problem?.(value);
  if (reason !== undefined) throw new UsageError(`--${flag} ${quoted(value)}: ${reason}`);
  return value;
}

/**
 * `icos lvm`: writes an LVM2 PV image for a volumes.csv, copying raw images into named LVs.
 * The metadata's creation_time is SOURCE_DATE_EPOCH when it is set and non-zero, otherwise the
 * fixed value IC-OS uses (1620345600), so unconfigured builds match IC-OS metadata.
 */
export const lvmCommand = defineCommand({
  command: 'lvm',
  describe: 'Write an LVM2 physical volume image (one VG, linear LVs from volumes.csv)',
  builder: (y) =>
    y
      .option('volumes', { type: 'string', demandOption: true, describe: 'volumes.csv (IC-OS format)' })
      .option('vg-name', { type: 'string', demandOption: true, describe: 'Volume group name, e.g. hostlvm' })
      .option('vg-uuid', { type: 'string', demandOption: true, describe: 'Volume group id (LVM form 6-4-4-4-4-4-6)' })
      .option('pv-uuid', { type: 'string', demandOption: true, describe: 'Physical volume id (LVM form 6-4-4-4-4-4-6)' })
      .option('out', { type: 'string', demandOption: true, describe: 'Output image (written atomically)' })
      .option('volume', {
        type: 'string',
        array: true,
        describe: 'NAME=IMAGE: copy the raw IMAGE into LV NAME (repeatable); other LVs stay zero',
      }),
  async run(args, { runner, log }) {
    const vgName = singleFlag('vg-name', args['vg-name'], vgNameProblem);
    const vgUuid = singleFlag('vg-uuid', args['vg-uuid'], lvmIdProblem);
    const pvUuid = singleFlag('pv-uuid', args['pv-uuid'], lvmIdProblem);
    const out = singleFlag('out', args.out);
    const images = parseAssignments('volume', args.volume);
    const volumes = await readVolumeTable(singleFlag('volumes', args.volumes));
    const epoch = sourceDateEpoch();
    const options: LvmOptions = {
      volumes,
      vgName,
      vgUuid,
      pvUuid,
      images: Object.fromEntries(images),
      creationTime: epoch === 0 ? IC_OS_LVM_CREATION_TIME : epoch,
      creationHost: 'builder',
      deviceHint: '/dev/nvme0n1p3',
    };
    const plan = await makeArtifact(lvmKind, options, out, { runner, log });
    log.info(`${out}: LVM image of ${describeSize(plan.imageSize)}, VG "${vgName}" with ${volumes.volumes.length} volumes`);
  },
});
