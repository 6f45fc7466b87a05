/**
 * Boots a GuestOS disk in QEMU (TCG, q35, OVMF) with the serial console on this terminal, or in a
 * file with --serial-log:
 *
 *   node --import tsx tools/qemu/launch.ts --disk build/guestos/dev/disk.img --config config.img \
 *     [--mac 52:54:00:12:34:56] [--memory 2G] [--cpus 2] [--persist] [--serial-log serial.log]
 *
 * The disk is used as a snapshot (writes discarded) unless --persist. Quit with Ctrl-A X.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_MAC, qemuArgs } from './qemu-args.ts';

const { values } = parseArgs({
  options: {
    disk: { type: 'string' },
    config: { type: 'string' },
    mac: { type: 'string', default: DEFAULT_MAC },
    memory: { type: 'string', default: '2G' },
    cpus: { type: 'string', default: '2' },
    persist: { type: 'boolean', default: false },
    'serial-log': { type: 'string' },
  },
});
const fail = (message: string) => {
  process.stderr.write(`qemu-launch: ${message}\n`);
  process.exit(1);
};
if (values.disk === undefined || !existsSync(values.disk)) fail(`--disk "${values.disk ?? ''}": no such file`);
if (values.config !== undefined && !existsSync(values.config)) fail(`--config "${values.config}": no such file`);
if (!/^[1-9][0-9]*$/.test(values.cpus!)) fail(`--cpus "${values.cpus}": expected a positive number`);

const args = qemuArgs({
  disk: values.disk!,
  configImage: values.config,
  mac: values.mac,
  memory: values.memory,
  cpus: Number(values.cpus),
  snapshot: !values.persist,
  serial: values['serial-log'] === undefined ? 'mon:stdio' : `file:${values['serial-log']}`,
}).filter((arg, i, all) => !(values['serial-log'] === undefined && (arg === '-monitor' || all[i - 1] === '-monitor')));
const qemu = spawn('qemu-system-x86_64', args, { stdio: 'inherit' });
qemu.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
