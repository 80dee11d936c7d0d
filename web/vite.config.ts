// Vite configuration for the Parley console.
//
// The build goes to web/dist, which parleyd serves at the site root. Paths are relative ('./') and the
// router uses hash history, so the server needs no SPA fallback and the console also works under a prefix.
// Next to every text asset over 1 KiB a .gz copy is written, for servers that send precompressed files.
//
// `npm run dev` proxies /api, /ws and the health endpoints to a running parleyd (PARLEY_DEV_API, default
// http://127.0.0.1:8080).
import { defineConfig, type Plugin } from 'vite';
import vue from '@vitejs/plugin-vue';
import { fileURLToPath, URL } from 'node:url';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';

const api = process.env.PARLEY_DEV_API || 'http://127.0.0.1:8080';

function gzipAssets(): Plugin {
  let outDir = 'dist';
  return {
    name: 'parley-gzip-assets',
    apply: 'build',
    configResolved(cfg) {
      outDir = cfg.build.outDir;
    },
    closeBundle() {
      const walk = (dir: string) => {
        for (const name of readdirSync(dir)) {
          const path = join(dir, name);
          if (statSync(path).isDirectory()) walk(path);
          else if (/\.(js|css|html|svg|json|map)$/.test(name) && statSync(path).size > 1024) {
            const gz = gzipSync(readFileSync(path), { level: constants.Z_BEST_COMPRESSION });
            writeFileSync(path + '.gz', gz);
          }
        }
      };
      walk(outDir);
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [vue(), gzipAssets()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  define: {
    // vue-i18n: composition API only, no devtools in production.
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
    __VUE_PROD_DEVTOOLS__: false,
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: false,
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 800,
    // No data: URLs, so a strict Content-Security-Policy (img-src 'self') keeps working.
    assetsInlineLimit: 0,
    rolldownOptions: {
      output: {
        // Two long-lived vendor chunks that change only when dependencies do; page code and libraries used
        // by one page (echarts later) stay in their own lazily loaded chunks.
        codeSplitting: {
          groups: [
            { name: 'vue', test: /[\\/]node_modules[\\/](@vue|vue|vue-router|vue-i18n|@intlify)[\\/]/ },
            {
              name: 'element-plus',
              test: /[\\/]node_modules[\\/](element-plus|@element-plus|@floating-ui|@popperjs|@ctrl|async-validator|lodash|lodash-es|lodash-unified|dayjs|@vueuse|normalize-wheel-es|memoize-one)[\\/]/,
            },
          ],
        },
      },
    },
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: {
      '/api': { target: api, changeOrigin: false },
      '/ws': { target: api, ws: true },
      '/healthz': { target: api },
      '/readyz': { target: api },
    },
  },
});
