// Bundle the MCP App view (ui/playlist-view/) into one self-contained HTML file: the view's script
// (with the ext-apps App class) and style inlined, nothing fetched at run time. Served by
// src/app/playlist-view.ts as the ui:// resource.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const VIEW_OUT = join(root, 'dist', 'ui', 'playlist-view.html');

// The bridge validates messages with zod, whose namespace re-exports ~45 locales (260 KB minified)
// that tree-shaking cannot drop; the view needs the default (English) messages only.
const englishOnlyZod = {
  name: 'english-only-zod',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(join('node_modules', 'zod', 'v4')) ? { path: 'zod-locales', namespace: 'english-only-zod' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'english-only-zod' }, () => ({
      contents: "export { default as en } from 'zod/v4/locales/en.js';",
      resolveDir: root,
    }));
  },
};

export async function buildView({ quiet = false } = {}) {
  const dir = join(root, 'ui', 'playlist-view');
  const result = await build({
    entryPoints: [join(dir, 'view.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    legalComments: 'none',
    plugins: [englishOnlyZod],
    logLevel: 'warning',
  });
  // Inline: a literal "</script" inside the bundle would end the element early.
  const script = result.outputFiles[0].text.replaceAll('</script', '<\\/script');
  const style = readFileSync(join(dir, 'view.css'), 'utf8');
  const html = readFileSync(join(dir, 'index.html'), 'utf8')
    .replace('/*STYLE*/', () => style)
    .replace('/*SCRIPT*/', () => script);
  mkdirSync(dirname(VIEW_OUT), { recursive: true });
  writeFileSync(VIEW_OUT, html);
  const size = { bytes: Buffer.byteLength(html), gzip: gzipSync(html).length };
  if (!quiet) console.error(`playlist view: ${VIEW_OUT} ${size.bytes} bytes (${size.gzip} gzip)`);
  return size;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildView();
