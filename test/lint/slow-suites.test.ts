import { existsSync } from 'node:fs';
import { join } from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SLOW_SUITES } = require('../slow-suites') as { SLOW_SUITES: readonly string[] };

describe('the slow suites `npm run test:fast` leaves out (test/slow-suites.js)', () => {
  it.each(SLOW_SUITES.map((suite) => [suite]))('%s exists (a renamed suite would silently run again)', (suite) => {
    expect(existsSync(join(__dirname, '..', '..', suite))).toBe(true);
  });
});
