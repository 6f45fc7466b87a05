import type { BadInputCase, BadInputTable } from '../case.ts';
import { notAFileCases } from './common.ts';

export const layoutTable: BadInputTable = {
  command: 'layout',
  cases: [
    { name: 'an unknown OS', args: ['layout', '--os', 'windows'], status: 1, message: /--os "windows"/ },
    { name: 'neither --os nor --all', args: ['layout'], status: 2, message: /--os|--all/ },
    { name: '--os and --all', args: ['layout', '--os', 'guestos', '--all'], status: 2, message: /--os.*--all|--all.*--os/ },
    { name: '--extra without --all', args: ['layout', '--os', 'guestos', '--extra', 'x={case}/os.json'], status: 2, message: /--extra/ },
    { name: 'a malformed --extra', args: ['layout', '--all', '--extra', 'x'], status: 2, message: /--extra "x"/ },
    { name: 'an --extra description that is missing', args: ['layout', '--all', '--extra', 'x={case}/none.json'], status: 1, message: /none\.json/ },
    { name: 'an --extra description that is not JSON', args: ['layout', '--all', '--extra', 'x={binary}'], status: 1, message: /binary/ },
    { name: 'an --extra description naming a missing table', args: ['layout', '--all', '--extra', 'x={case}/os.json'], files: { 'os.json': '{"partitionTable": "nope/partitions.csv", "diskSize": "1G"}' }, status: 1, message: /os\.json|nope\/partitions\.csv/ },
    { name: 'an --extra with an OS name', args: ['layout', '--all', '--extra', 'guestos={case}/os.json'], files: { 'os.json': '{}' }, status: 2, message: /guestos/ },
    { name: 'an unknown flag', args: ['layout', '--os', 'guestos', '--bogus'], status: 2, message: /bogus[\s\S]*(Options:|--help)/ },
    { name: 'a dotted flag', args: ['layout', '--os.x', 'guestos'], status: 2, message: /os\.x/ },
    { name: '--os given twice', args: ['layout', '--os', 'guestos', '--os', 'hostos'], status: 2, message: /--os is given more than once/ },
  ],
};

const LAUNCH = ['--disk', '{disk.img}'];
const launch = (name: string, extra: string[], message: RegExp, status: 1 | 2 = 1): BadInputCase => ({ name, args: ['launch', ...LAUNCH, ...extra], status, message });
export const launchTable: BadInputTable = {
  command: 'launch',
  cases: ([
    ...notAFileCases('--disk', (v) => ['launch', '--disk', v], { skip: ['a symlink to a FIFO'] }),
    { name: 'a text file as --disk', args: ['launch', '--disk', '{text}'], status: 1, message: /text.*not a disk image/ },
    { name: 'a corrupt archive as --disk', args: ['launch', '--disk', '{case}/x.tar.zst'], files: { 'x.tar.zst': 'garbage' }, status: 1, message: /x\.tar\.zst/ },
    { name: 'no --disk', args: ['launch'], status: 2, message: /disk/ },
    launch('an unknown flag', ['--bogus'], /bogus[\s\S]*(Options:|--help)/, 2),
    launch('a bad MAC', ['--mac', '52:54:00:zz:00:01'], /--mac "52:54:00:zz:00:01"/),
    launch('a bad memory size', ['--memory', '2X'], /--memory "2X"/),
    launch('zero CPUs', ['--cpus', '0'], /--cpus "0"/),
    launch('a zero timeout', ['--timeout', '0'], /--timeout "0"/),
    launch('--target-size without --target', ['--target-size', '8G'], /--target-size "8G"/),
    launch('a missing --config', ['--config', '{case}/none.ini'], /none\.ini.*no such file/),
    launch('--persist of an archive', ['--disk', '{disk-img.tar.zst}', '--persist'].slice(2), /.*/),
    launch('--target equal to --disk', ['--target', '{disk.img}'], /--target.*is --disk itself/),
    launch('--target in a missing directory', ['--target', '/nonexistent/t.img'], /\/nonexistent/),
    launch('a missing --medium', ['--medium', '{case}/none.img'], /--medium "[^"]*none\.img": cannot be read: no such file/),
    launch('a --medium of part of a sector', ['--medium', '{text}'], /--medium "[^"]*": not a whole number of 512-byte sectors/),
    launch('--ovmf-vars without --secure-boot', ['--ovmf-vars', '{hello.txt}'], /--ovmf-vars/),
  ] as BadInputCase[]).map((c) => (c.name === '--persist of an archive' ? { ...c, args: ['launch', '--disk', '{disk-img.tar.zst}', '--persist'], message: /--persist/ } : c)),
};

export const baseTable: BadInputTable = {
  command: 'base',
  cases: [
    { name: 'no action', args: ['base'], status: 2, message: /action/ },
    { name: 'an unknown action', args: ['base', 'destroy'], status: 2, message: /destroy/ },
    { name: 'build without --os', args: ['base', 'build', '--env', 'dev'], status: 2, message: /--os/ },
    { name: 'build with an unknown OS', args: ['base', 'build', '--os', 'windows', '--env', 'dev'], status: 1, message: /--os "windows"/ },
    { name: 'build with an unknown env', args: ['base', 'build', '--os', 'guestos', '--env', 'staging'], status: 2, message: /env[\s\S]*staging/ },
    { name: 'an unknown flag', args: ['base', 'ensure', '--bogus'], status: 2, message: /bogus[\s\S]*(Options:|--help)/ },
    { name: 'a dead container engine', args: ['base', 'ensure'], env: { DOCKER_HOST: 'unix://{case}/dead.sock' }, process: true, status: 1, message: /dead\.sock.*does not answer/ },
    { name: 'an ICOS_REGISTRY that is a URL', args: ['base', 'export', '--out', '{out}/b.tar'], env: { ICOS_REGISTRY: 'http://127.0.0.1:5000' }, process: true, status: 1, message: /ICOS_REGISTRY "http:\/\/127\.0\.0\.1:5000": not a registry host/ },
    { name: 'export without --out', args: ['base', 'export'], status: 2, message: /base export: --out is required/ },
    { name: 'import without --archive', args: ['base', 'import'], status: 2, message: /base import: --archive is required/ },
    { name: 'import of a missing archive', args: ['base', 'import', '--archive', '{case}/missing.tar'], status: 1, message: /missing\.tar.*cannot be read/ },
    { name: 'import of a tar without an index', args: ['base', 'import', '--archive', '{case}/x.tar'], files: { 'x.tar': '' }, status: 1, message: /x\.tar/ },
    { name: '--out on ensure', args: ['base', 'ensure', '--out', '{out}/x'], status: 2, message: /--out and --archive belong to export and import/ },
  ],
};

export const diffTable: BadInputTable = {
  command: 'diff',
  cases: [
    { name: 'one artifact', args: ['diff', '{case}/a'], files: { a: 'x' }, status: 2, message: /(B|b)/ },
    { name: 'a missing artifact', args: ['diff', '{case}/a', '{case}/missing'], files: { a: 'x' }, status: 2, message: /missing/ },
    { name: 'a bad --max', args: ['diff', '{case}/a', '{case}/a', '--max', '0'], files: { a: 'x' }, status: 2, message: /--max "0"/ },
  ],
};

const ROOTFS = ['--os', 'guestos', '--env', 'dev', '--out', '{out}/rootfs.tar'];
export const rootfsTable: BadInputTable = {
  command: 'rootfs',
  cases: [
    { name: 'an unknown OS', args: ['rootfs', '--os', 'windows', '--env', 'dev', '--out', '{out}/r.tar'], status: 1, message: /--os "windows"/ },
    { name: 'an unknown env', args: ['rootfs', '--os', 'guestos', '--env', 'qa', '--out', '{out}/r.tar'], status: 2, message: /env[\s\S]*qa/ },
    { name: 'no --out', args: ['rootfs', '--os', 'guestos', '--env', 'dev'], status: 2, message: /out/ },
    { name: 'an unknown flag', args: ['rootfs', ...ROOTFS, '--bogus'], status: 2, message: /bogus[\s\S]*(Options:|--help)/ },
    { name: 'a prod build on a dev base', args: ['rootfs', '--os', 'guestos', '--env', 'prod', '--out', '{out}/r.tar', '--base-image', `127.0.0.1:5000/guestos-base-dev@sha256:${'0'.repeat(64)}`], status: 1, message: /--base-image.*not the prod base/ },
    { name: 'a base image that is no reference', args: ['rootfs', ...ROOTFS, '--base-image', 'UPPER CASE'], status: 1, message: /--base-image "UPPER CASE"/ },
    { name: '--out /dev/null', args: ['rootfs', '--os', 'guestos', '--env', 'dev', '--out', '/dev/null'], env: { DOCKER_HOST: 'unix://{case}/dead.sock' }, process: true, status: 1, message: /\/dev\/null/ },
    { name: 'a dead container engine', args: ['rootfs', ...ROOTFS], env: { DOCKER_HOST: 'unix://{case}/dead.sock' }, process: true, status: 1, message: /dead\.sock.*does not answer/ },
  ],
};

const manifest = (name: string, json: string, message: RegExp): BadInputCase => ({
  name, args: ['build', '--manifest', '{case}/m.json'], files: { 'm.json': json }, status: 1, message,
});
const ext4 = (more: Record<string, unknown>, options: Record<string, unknown> = {}) =>
  JSON.stringify({ kind: 'ext4', out: '{out}/x.img', options: { artifact: 'x', size: '8M', ...options }, ...more });
export const buildTable: BadInputTable = {
  command: 'build',
  cases: ([
    ...notAFileCases('--manifest', (v) => ['build', '--manifest', v]),
    { name: 'no --manifest', args: ['build'], status: 2, message: /manifest/ },
    { name: 'an unknown flag', args: ['build', '--manifest', '{case}/m.json', '--bogus'], files: { 'm.json': ext4({}) }, status: 2, message: /bogus[\s\S]*(Options:|--help)/ },
    manifest('not JSON', '{"kind": ', /m\.json/),
    manifest('a binary manifest', '\x1b[2J\x00\x01', /m\.json/),
    manifest('an empty manifest', '', /m\.json/),
    manifest('a JSON array', '[]', /m\.json/),
    manifest('an unknown kind', ext4({ kind: 'squashfs' }), /m\.json.*kind "squashfs"/),
    manifest('no kind', JSON.stringify({ out: '{out}/x.img', options: {} }), /m\.json.*kind/),
    manifest('no out', JSON.stringify({ kind: 'ext4', options: { artifact: 'x', size: '8M' } }), /m\.json.*out/),
    manifest('an empty out', ext4({ out: '' }), /m\.json.*out|--out ""|out ""/),
    manifest('rootHashOut on ext4', ext4({ rootHashOut: 'h' }), /rootHashOut/),
    manifest('packCompression without packAs', ext4({ packCompression: 'zstd-fast' }), /packCompression.*packAs/),
    manifest('an unknown top-level field', ext4({ colour: 'blue' }), /m\.json.*colour/),
    manifest('an unknown option', ext4({}, { colour: 'blue' }), /colour/),
    manifest('a size that is no size', ext4({}, { size: 'big' }), /size.*"big"/),
    manifest('a size of the wrong type', ext4({}, { size: [8] }), /size/),
    manifest('a label over 16 bytes', ext4({}, { label: 'é'.repeat(9) }), /label/),
    manifest('an unpack reference that is missing', ext4({}, { src: 'unpacked:rootfs' }), /"unpacked:rootfs": no "rootfs" in field "unpack"/),
    manifest('an unpack of a missing archive', ext4({ unpack: { rootfs: '{case}/none.tzst' } }, { src: 'unpacked:rootfs' }), /none\.tzst/),
    manifest('an unpack of a corrupt archive', ext4({ unpack: { rootfs: '{corrupt.tzst}' } }, { src: 'unpacked:rootfs' }), /corrupt\.tzst/),
    manifest('an unpack of a FIFO', ext4({ unpack: { rootfs: '{fifo}' } }, { src: 'unpacked:rootfs' }), /fifo/),
    manifest('a gpt with an overlapping table', JSON.stringify({ kind: 'gpt', out: '{out}/d.img', options: { partitions: '{case}/p.csv' } }), /p\.csv/),
    manifest('a verity with a bad salt', JSON.stringify({ kind: 'verity', out: '{out}/v.img', rootHashOut: '{out}/h', options: { image: '{img.8k}', hashOffset: 8192, salt: 'zz', uuid: '1736291d-aceb-42d7-b044-43ee31d86cd4' } }), /salt "zz"/),
    manifest('a sparse-tar with a missing member', JSON.stringify({ kind: 'sparse-tar', out: '{out}/a.tzst', options: { members: [{ name: 'a.img', path: '{case}/none.img' }] } }), /none\.img/),
    manifest('an lvm with a bad VG id', JSON.stringify({ kind: 'lvm', out: '{out}/l.img', options: { volumes: '{vols.csv}', vgName: 'vg', vgUuid: 'x', pvUuid: 'y' } }), /vgUuid|"x"/),
    manifest('a vfat too small for FAT32', JSON.stringify({ kind: 'vfat', out: '{out}/f.img', options: { artifact: 'f', size: '8M', fat32: true } }), /FAT32|cluster/),
  ] as BadInputCase[]).map((c) => (c.name === 'an unpack of a FIFO' ? { ...c, process: true } : c.name === 'a gpt with an overlapping table'
    ? { ...c, files: { ...c.files, 'p.csv': 'a, 2048, 4096, L, 7C0A626E-E5EA-E543-B5C5-300EB8304DB7\nb, 4096, 2048, L, B78084E2-3363-1346-8C25-D426F26B8928\n' } } : c)),
};
