import { defineConfig } from "vite";

// The bundle goes straight into the coordinator's classes, so the jar serves it from console/.
export default defineConfig({
  base: "/",
  build: {
    outDir: "../../../target/classes/console",
    emptyOutDir: true,
    assetsDir: "assets",
    // No inline data: URLs for scripts or styles: the page's Content-Security-Policy allows 'self' only.
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
});
