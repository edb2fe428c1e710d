import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Debian's Chromium for the browser tests (installed when missing and possible).
    globalSetup: ['test/setup/chromium.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
