import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files that start real processes must not all run at once.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: "default",
          include: ["**/*.test.ts"],
          exclude: ["node_modules/**", ".data/**", "**/*.convos-cli.test.ts"],
        },
      },
      {
        // Tests driving the official Convos CLI: `--env local` has no API URL override, so they own the fake node
        // on localhost:5556. A later group order runs them only after every other file has finished, and one file
        // at a time, so nothing else is running while they hold the port.
        extends: true,
        test: {
          name: "convos-cli",
          include: ["**/*.convos-cli.test.ts"],
          exclude: ["node_modules/**", ".data/**"],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
})
