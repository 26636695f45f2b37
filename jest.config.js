/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  setupFiles: ['<rootDir>/test/polyfills.ts'],
  transform: { '^.+\\.[tj]s$': ['@swc/jest', { jsc: { target: 'es2023' } }] },
  // hyparquet(-writer) ship ES modules only: jest runs CommonJS, so they are transformed too.
  transformIgnorePatterns: ['/node_modules/(?!(hyparquet|hyparquet-writer)/)'],
  // No per-test limit that a busy machine could exceed: a test that hangs is a failure of the
  // whole run, which CI bounds. (Integration tests start real servers and synthesize stacks.)
  testTimeout: 30 * 60_000,
  // Two cores: leave one for the servers the tests start.
  maxWorkers: 2,
};
