// Prints the node_modules directories (one per line) that the named packages need at run time:
// the packages themselves and, transitively, their `dependencies` (hoisted layout, as npm ci makes).
// Usage: node closure.mjs NODE_MODULES_DIR PACKAGE...
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [modulesDir, ...roots] = process.argv.slice(2);
const seen = new Set();
const pending = [...roots];
while (pending.length > 0) {
  const name = pending.pop();
  if (seen.has(name)) continue;
  const manifest = path.join(modulesDir, name, 'package.json');
  if (!existsSync(manifest)) {
    process.stderr.write(`closure.mjs: ${manifest}: no such file (needed by ${[...seen].join(', ') || 'the caller'})\n`);
    process.exit(1);
  }
  seen.add(name);
  const { dependencies = {} } = JSON.parse(readFileSync(manifest, 'utf8'));
  pending.push(...Object.keys(dependencies));
}
process.stdout.write(`${[...seen].sort().join('\n')}\n`);
