import { defineConfig } from "vite";

// Relative asset URLs: the same build is served at /console/ locally and under the API's
// stage path in AWS (https://…/prod/console/), whatever that path is.
export default defineConfig({
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, target: "es2022" },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
});
