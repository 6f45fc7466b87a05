import { UsageError, defineCommand } from '../command.ts';
import { readPartitionTable, tableEndSector } from '../../inputs/partitions-csv.ts';
import { SECTOR_SIZE } from '../../inputs/tables.ts';
import { lvmImageSize, readVolumeTable } from '../../inputs/volumes-csv.ts';
import { describeSize, parseSize } from '../../lib/size.ts';
import { quoted } from '../../messages.ts';

/** `icos validate`: checks partition and volume tables without writing anything. */
export const validateCommand = defineCommand({
  command: 'validate',
  describe: 'Check partitions.csv (and volumes.csv) and report every problem with file and line',
  builder: (y) =>
    y
      .option('partitions', { type: 'string', demandOption: true, describe: 'partitions.csv (IC-OS format)' })
      .option('volumes', { type: 'string', describe: 'volumes.csv (IC-OS format) of an LVM partition' })
      .option('disk-size', { type: 'string', describe: 'Disk size the table must fit (bytes or K/M/G/T)' })
      .option('lvm-partition', {
        type: 'string',
        default: 'hostlvm',
        describe: 'Partition that holds the volumes of --volumes',
      }),
  async run(args, { log }) {
    const diskSize = args['disk-size'] === undefined ? undefined : parseSize(args['disk-size'], '--disk-size');
    if (diskSize !== undefined && diskSize % SECTOR_SIZE !== 0) {
      throw new UsageError(`--disk-size ${quoted(args['disk-size']!)}: ${diskSize} bytes, must be a multiple of ${SECTOR_SIZE} (whole sectors)`);
    }
    const table = await readPartitionTable(args.partitions, { diskSize });
    const end = tableEndSector(table);
    log.info(`${table.file}: ${table.partitions.length} partitions, ending at sector ${end} (${describeSize(end * SECTOR_SIZE)})`);
    if (args.volumes === undefined) return;
    const holder = table.partitions.find((p) => p.name === args['lvm-partition']);
    if (holder === undefined) {
      throw new UsageError(
        `--lvm-partition ${quoted(args['lvm-partition'])}: no such partition in ${table.file} (it has ${table.partitions.map((p) => p.name).join(', ')})`,
      );
    }
    const volumes = await readVolumeTable(args.volumes, { pvSize: holder.size * SECTOR_SIZE, pvName: holder.name });
    log.info(`${volumes.file}: ${volumes.volumes.length} volumes, LVM image of ${describeSize(lvmImageSize(volumes))} in "${holder.name}"`);
  },
});
