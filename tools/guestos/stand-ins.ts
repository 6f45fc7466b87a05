import path from 'node:path';
import type { CommandRunner } from '../src/definitions.ts';
import { INPUTS } from './layout.ts';

/** Late-injected binaries of one env: paths of the built replica and orchestrator. */
export interface StandIns {
  replica: string;
  orchestrator: string;
}

/**
 * Compiles the replica and orchestrator stand-ins with the host C compiler, as the Bazel
 * cc_binary targets of components/guestos/stand-ins do: static, so the host C library does not
 * matter; no debug info, so no build paths end up in the binaries.
 */
export async function buildStandIns(runner: CommandRunner, outDir: string, malicious: boolean): Promise<StandIns> {
  const compile = async (source: string, out: string, defines: string[]) => {
    await runner.run('cc', ['-O2', '-static', '-Wall', '-Werror', ...defines, '-o', out, path.join(INPUTS.standIns, source)], {
      artifact: `stand-in(${path.basename(out)})`,
    });
    return out;
  };
  return {
    replica: await compile('replica.c', path.join(outDir, 'replica'), malicious ? ['-DMALICIOUS_REPLICA'] : []),
    orchestrator: await compile('orchestrator.c', path.join(outDir, 'orchestrator'), []),
  };
}
