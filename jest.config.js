const { SLOW_SUITES } = require('./test/slow-suites');

/** Tests are transpiled by swc (no type-checking here: `npm run typecheck` does that once). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testPathIgnorePatterns: ['/node_modules/', '/cdktf.out/', ...(process.env.DEPLOY_GUARD_FAST_TESTS === '1' ? SLOW_SUITES.map((suite) => `<rootDir>/${suite}`) : [])],
  // A hang limit, not a speed budget: a correctness test must pass on a machine busy with other work
  // (a second npm test beside it), so no test sets a tighter one. Speed is measured in bench/.
  testTimeout: 900_000,
};
