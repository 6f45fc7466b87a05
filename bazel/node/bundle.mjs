// Bundles the icos CLI (tools/src, TypeScript) into one ES module with esbuild. Run by Bazel with
// the host node from @icos_node and esbuild from node_modules; the working directory is the exec root.
//
// Usage: node bundle.mjs --out FILE [--commands all|verb,verb] [--standalone]
//
// --commands narrows the CLI to some verbs (the command registry is replaced by a generated one),
// so an action's tool changes only when code that verb reaches changes: editing the ext4 kind does
// not re-run the container build.
//
// --standalone makes a bundle that runs on an IC node rather than the build host: every package
// inside (no node_modules beside it) and Node 18 (Debian 12's node, which HostOS carries).
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    commands: { type: 'string', default: 'all' },
    esbuild: { type: 'string' },
    standalone: { type: 'boolean', default: false },
  },
});
if (!values.out || !values.esbuild) {
  process.stderr.write('bundle.mjs: --out and --esbuild (path of node_modules/esbuild) are required\n');
  process.exit(2);
}
const esbuild = createRequire(import.meta.url)(path.resolve(values.esbuild));
const root = process.cwd();
const commandsDir = path.join(root, 'tools/src/cli/commands');

// tar-stream is patched at run time through createRequire(...).resolve('tar-stream') (binary pax
// records). A bundled copy would be a second module instance that the patch never reaches, so it
// is loaded from node_modules (NODE_PATH) and shared with the code that patches it.
const runtimeModule = `import { createRequire } from 'node:module';
export default createRequire(import.meta.url)('tar-stream');`;

// Verbs that talk to a container engine. A bundle without them gets a stub in place of the
// engine adapter (main.ts imports it dynamically, only when a command asks for an engine), so
// editing container code leaves the image actions' tool byte for byte the same.
const ENGINE_VERBS = ['rootfs', 'base'];
const engineStub = `export class DockerodeContainerEngine {
  constructor() { throw new Error('this icos bundle has no container engine (bazel/node/bundle.mjs --commands)'); }
}`;

const STANDALONE_PATHS = `
import { fileURLToPath as __icosFileUrlToPath } from 'node:url';
import { dirname as __icosPathDirname } from 'node:path';
const __icosFilename = __icosFileUrlToPath(import.meta.url);
const __icosDirname = __icosPathDirname(__icosFilename);`;

function commandRegistry(verbs) {
  const imports = verbs.map((verb, i) => `import * as m${i} from ${JSON.stringify(path.join(commandsDir, `${verb}.ts`))};`);
  const picks = verbs.map((_, i) => `...Object.values(m${i}).filter((v) => typeof v?.command === 'string')`);
  return `${imports.join('\n')}\nexport const COMMANDS = [${picks.join(', ')}];\n`;
}

const icosPlugin = {
  name: 'icos',
  setup(build) {
    if (!values.standalone) {
      build.onResolve({ filter: /^tar-stream$/ }, () => ({ path: 'tar-stream', namespace: 'icos-runtime' }));
      build.onLoad({ filter: /.*/, namespace: 'icos-runtime' }, () => ({ contents: runtimeModule, loader: 'js' }));
    }
    if (values.commands === 'all') return;
    const verbs = values.commands.split(',');
    if (!verbs.some((verb) => ENGINE_VERBS.includes(verb))) {
      build.onResolve({ filter: /\/infra\/dockerode-container-engine\.ts$/ }, () => ({ path: 'engine-stub', namespace: 'icos-commands' }));
    }
    build.onResolve({ filter: /\/commands\/registry\.ts$/ }, () => ({ path: 'registry', namespace: 'icos-commands' }));
    build.onLoad({ filter: /.*/, namespace: 'icos-commands' }, (args) => ({
      contents: args.path === 'engine-stub' ? engineStub : commandRegistry(verbs),
      loader: 'ts',
      resolveDir: commandsDir,
    }));
  },
};

await esbuild.build({
  stdin: {
    contents: "import { main } from './tools/src/cli/main.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n",
    resolveDir: root,
    sourcefile: 'icos-entry.ts',
    loader: 'ts',
  },
  outfile: values.out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: values.standalone ? 'node18' : 'node20',
  // Paths as Bazel lays them out (external/icos_node/node_modules/...), not the checkout they
  // point to, so the bundle is the same bytes on every machine.
  preserveSymlinks: true,
  legalComments: 'none',
  logLevel: 'warning',
  // ssh2 (through dockerode) tries optional native modules inside try/catch: leave them out.
  external: ['*.node', 'cpu-features'],
  // CommonJS packages inside an ES module still expect require, __filename and __dirname. The
  // last two are replaced where they are free variables only (Node 20.11+ has import.meta.dirname),
  // so a module declaring its own keeps it.
  // Node 18 has neither: a standalone bundle computes them from import.meta.url.
  banner: { js: "import { createRequire as __icosRequire } from 'node:module';\nconst require = __icosRequire(import.meta.url);" + (values.standalone ? STANDALONE_PATHS : '') },
  define: values.standalone ? { __dirname: '__icosDirname', __filename: '__icosFilename' } : { __dirname: 'import.meta.dirname', __filename: 'import.meta.filename' },
  // Sources are in the exec root, packages in external/icos_node/node_modules.
  nodePaths: [path.dirname(path.resolve(values.esbuild))],
  plugins: [icosPlugin],
});
