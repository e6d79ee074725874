import { build } from 'esbuild';
import { HANDLER_BUILD_OPTIONS, HANDLER_BUILD_PLUGINS } from '../stacks/bundle-build';
const [out, ...names] = process.argv.slice(2);
build({ ...HANDLER_BUILD_OPTIONS, plugins: [...HANDLER_BUILD_PLUGINS], absWorkingDir: '/work/main', entryPoints: Object.fromEntries(names.map((name) => [`${name}/index`, `handlers/${name}.ts`])), outdir: out, metafile: true }).then((r) => { for (const [k, o] of Object.entries(r.metafile.outputs)) if (k.endsWith('.js')) console.log(k, (o.bytes / 1024).toFixed(1)); });
