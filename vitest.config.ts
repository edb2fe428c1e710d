import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real services for the tests that need them, installed when missing and possible: one shared
    // redis-server (DELTAFLOW_TEST_REDIS_URL) and Debian's Chromium for the browser tests.
    globalSetup: ['test/setup/redis.ts', 'test/setup/chromium.ts'],
  },
});
