/**
 * The suites that take minutes (they replay the shipped history, train models, run Terraform or
 * fuzz): `npm run test:fast` leaves them out. The README lists their times.
 */
exports.SLOW_SUITES = [
  'test/local/faults.test.ts',
  'test/local/backtest.test.ts',
  'test/model/gbdt-parity.test.ts',
  'test/fuzz/handlers.fuzz.test.ts',
  'test/fuzz/import.fuzz.test.ts',
  'test/model/train-script-window.test.ts',
  'test/model/train-cli.test.ts',
  'test/stacks/terraform.test.ts',
  'test/model/treeshap.test.ts',
  'test/model/xgboost.test.ts',
  'test/stacks/constructs-terraform.test.ts',
  'test/local/report-browser.test.ts',
  'test/handlers/bundles.test.ts',
];
