import { defineConfig } from "vite";

// The dashboard is a static SPA served by scheduler-server (src/dashboard.rs)
// from scheduler-server/dashboard, which this build writes: the server crate
// embeds it, so its published package carries the dashboard. `npm run dev` proxies /api to a running server, by default
// http://127.0.0.1:8080 (override with SCHEDULER_URL).
const target = process.env.SCHEDULER_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "/",
  server: {
    proxy: { "/api": { target, changeOrigin: true } },
  },
  build: {
    outDir: "../scheduler-server/dashboard",
    emptyOutDir: true,
    sourcemap: false,
    // One vendor chunk for React and the router, one for the chart, one for the
    // app: the app chunk changes most often and stays small.
    rollupOptions: {
      onwarn(warning, warn) {
        // react-router marks its modules "use client" for server components; meaningless in an SPA.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
      output: {
        manualChunks(id: string) {
          if (id.includes("node_modules/uplot")) return "chart";
          if (id.includes("node_modules")) return "vendor";
          return undefined;
        },
      },
    },
  },
});
