/** One Jest run for every package's tests and the cross-package tests in test/. */
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript', decorators: true }, target: 'es2022', transform: { legacyDecorator: true, decoratorMetadata: true } }, module: { type: 'commonjs' }, sourceMaps: 'inline' }];
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/test'],
  testMatch: ['**/test/**/*.test.ts', '**/src/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/templates/'],
  transform: { '^.+\\.(t|j)sx?$': swc },
  transformIgnorePatterns: ['/node_modules/'],
  // In-process tests run the TypeScript sources; spawned `kiln` processes run the built dist.
  moduleNameMapper: { '^@kiln/([a-z0-9-]+)$': '<rootDir>/packages/$1/src/index.ts' },
  testTimeout: 120000,
  maxWorkers: 2,
};
