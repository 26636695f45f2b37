/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2023' } }] },
  // Integration tests start real servers (sandbox, s3rver) and a CDK synth bundles with esbuild.
  testTimeout: 60_000,
  // Two cores: leave one for the servers the tests start.
  maxWorkers: 2,
};
