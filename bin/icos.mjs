#!/usr/bin/env node
// Entry point: runs the TypeScript sources through tsx so no build step can go stale.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../tools/src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
