import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { DiffContext } from './context.ts';
import { formatOfHead } from './detect.ts';
import { readRegion, statRegion, type Region } from './region.ts';
import { readTarMembers, type TarMember } from './tar-stream.ts';

/**
 * Tar archives, zstd-compressed (our framed sparse tars: disk-img, update-img, partition
 * archives) or plain: member names and order, then each member's header fields, then its
 * contents: image members (sparse ones, or a GPT/LVM/ext4/FAT by their first bytes) are unpacked
 * into scratch and compared by what they hold under the member's name; other members by sha256.
 */

async function readMembers(context: DiffContext, region: Region, side: string): Promise<TarMember[]> {
  const dir = context.scratchPath(`archive-${side}`);
  await mkdir(dir);
  const imagePathFor = (index: number, name: string) => path.join(dir, `${index}-${path.basename(name).replace(/[^\w.-]/g, '_')}`);
  const isZstd = formatOfHead(await readRegion(region, 0, 4)) === 'zstd';
  const where = `diff(${region.file})`;
  if (!isZstd) return readTarMembers(createReadStream(region.file), imagePathFor, where);
  const run = context.runner.stream('zstd', ['-q', '-d', '-c', region.file], { artifact: where });
  let members: TarMember[];
  try {
    // Read to the stream's end, so a zstd failure (a truncated or corrupt archive) is reported by `done`.
    members = await readTarMembers(run.stdout as AsyncIterable<Buffer>, imagePathFor, where);
  } catch (error) {
    run.stop();
    await run.done;
    throw error;
  }
  await run.done;
  return members;
}

/** `a before b`: the first place two name orders part. */
function firstOrderChange(namesA: string[], namesB: string[]): [string, string] | undefined {
  for (let index = 0; index < Math.min(namesA.length, namesB.length); index++) {
    if (namesA[index] !== namesB[index]) return [`${namesA[index]} before ${namesB[index]}`, `${namesB[index]} before ${namesA[index]}`];
  }
  return undefined;
}

export async function compareArchives(context: DiffContext, place: string[], a: Region, b: Region): Promise<void> {
  const { report } = context;
  const [membersA, membersB] = [await readMembers(context, a, 'a'), await readMembers(context, b, 'b')];
  const byNameA = new Map(membersA.map((member) => [member.name, member]));
  const byNameB = new Map(membersB.map((member) => [member.name, member]));
  for (const member of membersA) if (!byNameB.has(member.name)) report.add({ place: [...place, member.name], what: 'member only in A' });
  for (const member of membersB) if (!byNameA.has(member.name)) report.add({ place: [...place, member.name], what: 'member only in B' });
  const order = firstOrderChange(
    membersA.map((member) => member.name).filter((name) => byNameB.has(name)),
    membersB.map((member) => member.name).filter((name) => byNameA.has(name)),
  );
  if (order !== undefined) report.add({ place, what: 'member order:', a: order[0], b: order[1] });
  const contents: Array<[TarMember, TarMember]> = [];
  for (const memberA of membersA) {
    const memberB = byNameB.get(memberA.name);
    if (memberB === undefined) continue;
    const memberPlace = [...place, memberA.name];
    for (const key of new Set([...memberA.fields.keys(), ...memberB.fields.keys()])) report.field(memberPlace, key, memberA.fields.get(key), memberB.fields.get(key));
    if (memberA.imagePath === undefined || memberB.imagePath === undefined) report.field(memberPlace, 'content sha256', memberA.sha256 ?? '(an image)', memberB.sha256 ?? '(an image)');
    else contents.push([memberA, memberB]);
  }
  for (const [memberA, memberB] of contents) {
    if (report.stopHere()) break;
    // The member is a file of its own now: it may be a GPT disk, which sfdisk reads only whole.
    await context.compareRegion([memberA.name], await statRegion(memberA.imagePath!), await statRegion(memberB.imagePath!), { wholeFile: false });
  }
}
