/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  // Relative asset paths: the app loads the bundle from its own origin (tauri://).
  base: "./",
  clearScreen: false,
  build: { outDir: "dist", emptyOutDir: true, target: "es2021", sourcemap: false, chunkSizeWarningLimit: 200 },
  server: { port: 5173, strictPort: true, fs: { allow: [fileURLToPath(new URL("..", import.meta.url))] } },
  test: { environment: "jsdom", include: ["tests/**/*.test.ts"], root },
});
