import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", ".data/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files that start real processes must not all run at once.
    maxWorkers: 2,
  },
})
