// Vite configuration for the visitor chat widget (web/widget → dist/widget.js).
//
// One classic script (IIFE), no chunks, no separate CSS: the stylesheet is imported as a string
// (style.css?inline) and put into the widget's shadow root. It runs after the console build, which
// empties dist/, so this one must not (emptyOutDir: false) and does not copy public/ again.
// The output is pure ASCII; dist/widget.js.gz (gzip -9) is written next to it for parleyd's precompressed serving.
import { defineConfig, type Plugin } from 'vite';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';

function widgetOutput(): Plugin {
  let outDir = 'dist';
  return {
    name: 'parley-widget-output',
    apply: 'build',
    enforce: 'post',
    configResolved(cfg) {
      outDir = cfg.build.outDir;
    },
    // ASCII only (\uXXXX escapes, valid in strings, templates and regexes): the script then works on
    // pages in any encoding and from servers that send no charset.
    generateBundle(_, bundle) {
      for (const chunk of Object.values(bundle))
        if (chunk.type === 'chunk')
          chunk.code = chunk.code.replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
    },
    closeBundle() {
      const path = join(outDir, 'widget.js');
      const src = readFileSync(path);
      const gz = gzipSync(src, { level: constants.Z_BEST_COMPRESSION });
      writeFileSync(path + '.gz', gz);
      console.log(`widget.js: ${src.length} bytes, ${gz.length} bytes gzipped (-9)`);
    },
  };
}

export default defineConfig({
  publicDir: false,
  plugins: [widgetOutput()],
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    copyPublicDir: false,
    target: 'es2020',
    minify: 'oxc',
    cssMinify: 'lightningcss',
    sourcemap: false,
    lib: {
      entry: 'widget/main.ts',
      name: 'ParleyWidget',
      formats: ['iife'],
      fileName: () => 'widget.js',
    },
  },
});
