import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One shared redis-server for the tests that need one (DELTAFLOW_TEST_REDIS_URL).
    globalSetup: ['test/setup/redis.ts'],
  },
});
