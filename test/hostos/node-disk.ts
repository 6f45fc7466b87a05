/**
 * A HostOS disk as SetupOS leaves it (until SetupOS exists): a sparse copy of the built HostOS
 * disk with the node config in the `config` LV (a fresh ext4 made by mke2fs -d) and a GuestOS
 * disk written into the `guestos` LV (by qemu-img), both at the LV offsets of the resolved layout.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveLayout } from '../../tools/src/os/layout.ts';
import { toolAsync } from '../support/tools.ts';

export interface NodeDiskRequest {
  hostDisk: string;
  guestDisk: string;
  /** Files of the config LV (relative path -> content). */
  config: Record<string, string>;
  out: string;
}

/** The byte range of one LV of the HostOS layout on the disk (the LV's offset is within its PV partition). */
async function volume(name: string): Promise<{ offset: number; bytes: number }> {
  const { facts, partitions } = await resolveLayout('hostos');
  const pv = partitions.find((partition) => partition.kind === 'lvm');
  if (pv === undefined) throw new Error('the hostos layout has no LVM partition');
  const extent = 4 * 1024 * 1024;
  const offset = Number(facts[`partitions.${pv.name}.start`]) * 512 + Number(facts[`volumes.${name}.offset`]);
  const bytes = (Number(facts[`volumes.${name}.end`]) - Number(facts[`volumes.${name}.start`])) * extent;
  if (!Number.isSafeInteger(offset) || !(bytes > 0)) throw new Error(`the hostos layout has no volume ${name}`);
  return { offset, bytes };
}

// Asynchronous tool calls: copying and filling a HostOS disk takes minutes on a loaded machine.
export async function writeNodeDisk(request: NodeDiskRequest): Promise<string> {
  await toolAsync('cp', ['--sparse=always', request.hostDisk, request.out]);
  const config = await volume('config');
  const staging = `${request.out}.config`;
  for (const [name, content] of Object.entries(request.config)) {
    mkdirSync(path.dirname(path.join(staging, name)), { recursive: true });
    writeFileSync(path.join(staging, name), content);
  }
  const configFs = `${request.out}.config.ext4`;
  await toolAsync('mke2fs', ['-q', '-F', '-t', 'ext4', '-E', 'root_owner=0:0', '-d', staging, configFs, `${config.bytes / 1024}k`]);
  await toolAsync('dd', [`if=${configFs}`, `of=${request.out}`, 'bs=4M', 'oflag=seek_bytes', `seek=${config.offset}`, 'conv=notrunc,sparse', 'status=none']);

  const guest = await volume('guestos');
  const guestBytes = statSync(request.guestDisk).size;
  if (guestBytes > guest.bytes) throw new Error(`${request.guestDisk} (${guestBytes} bytes) does not fit the guestos LV (${guest.bytes})`);
  // qemu-img copies where the 50 GiB sparse disk has data; dd would read every hole (minutes of CPU).
  const guestLv = `driver=raw,offset=${guest.offset},size=${guestBytes},file.driver=file,file.filename=${request.out.replaceAll(',', ',,')}`;
  await toolAsync('qemu-img', ['convert', '-n', '--image-opts', `driver=raw,file.driver=file,file.filename=${request.guestDisk.replaceAll(',', ',,')}`, '--target-image-opts', guestLv]);
  return request.out;
}
