import { join } from 'node:path';
import type { FuzzSettings, HandlerReport } from './handlers-fuzzer';
import { baseSeed, caseCount } from './prng';
import { WorkerPool } from './worker-pool';

/*
 * Bad input: every handler against at least 10,000 malformed events made from the real samples
 * (test/fuzz/handlers-fuzzer.ts says how, test/fuzz/mutate.ts what the mutations are). A handler
 * either rejects an event with EventValidationError before calling any port, or handles it, and then
 * the event is valid by its schema. A failure prints the seed, the case and the mutation in words:
 *
 *   FUZZ_SEED=<seed> FUZZ_CASE=<case> npx jest test/fuzz/handlers.fuzz.test.ts -t '<handler>'
 *
 * The loops run in two worker threads (worker-pool.ts says why), all handlers queued at once.
 */

const HANDLERS = ['predict', 'traffic-hook', 'rollback', 'record-change', 'record-outcome', 'drift', 'promote', 'shadow-digest', 'pipeline-gate'] as const;
const ONLY = process.env.FUZZ_CASE ? Number(process.env.FUZZ_CASE) : undefined;
const settings: FuzzSettings = { seed: baseSeed(), count: caseCount(10_000), ...(ONLY === undefined ? {} : { only: ONLY }) };
/**
 * The least share of the mutants a handler rejects. The pipeline gate answers every job that has an
 * id, whatever else is wrong with it (CodePipeline is told the input and the problem): it rejects
 * only the mutants that lost the job id.
 */
const REJECTED_SHARE: Partial<Record<(typeof HANDLERS)[number], number>> = { 'pipeline-gate': 0.05 };
/** Failures printed per handler (the first ones; the count says how many there were). */
const SHOWN = 8;

const pool = new WorkerPool(2);
const reports = new Map<string, Promise<HandlerReport>>();
let selfCheck: Promise<Record<'portFirst' | 'crashes' | 'neverValidates', HandlerReport>>;

beforeAll(() => {
  // The self-check first: queued behind the handlers' 10,000-event loops, it would wait for them.
  selfCheck = pool.run(join(__dirname, 'handlers-fuzzer.ts'), 'selfCheck', [{ seed: settings.seed, count: 300 }]);
  selfCheck.catch(() => undefined); // awaited (and reported) by its test
  for (const handler of HANDLERS) {
    const report = pool.run<HandlerReport>(join(__dirname, 'handlers-fuzzer.ts'), 'fuzzHandler', [handler, settings]);
    report.catch(() => undefined); // awaited (and reported) by the handler's test
    reports.set(handler, report);
  }
});
afterAll(() => pool.close());

describe('the fuzzer', () => {
  it('notices a handler that calls a port before validating, one that crashes on malformed input, and one that never validates', async () => {
    const reports = await selfCheck;
    expect(reports.portFirst.failures[0]).toContain('→ EventValidationError after port calls store.find');
    expect(reports.crashes.failures[0]).toMatch(/→ TypeError: .* \(port calls: none\)/);
    expect(reports.neverValidates.failures[0]).toContain('→ handled (port calls: none) an event its schema rejects');
  });
});

describe.each(HANDLERS)('fuzz %s', (handler) => {
  it('rejects malformed events with EventValidationError before any port call, and handles only valid ones', async () => {
    const report = await reports.get(handler)!;
    console.log(
      `fuzz ${handler}: ${report.events} events, ${report.rejected} rejected (EventValidationError, no port call), ` +
        `${report.valid} handled as valid${report.documented ? ` (+${report.documented} documented errors of valid events)` : ''}, ` +
        `${report.failures.length} failures, ${report.seconds.toFixed(2)} s (seed ${settings.seed})`,
    );

    expect({ failures: report.failures.length, first: report.failures.slice(0, SHOWN) }).toEqual({ failures: 0, first: [] });
    if (ONLY === undefined) {
      expect(report.events).toBeGreaterThanOrEqual(settings.count);
      // A fuzzer's mix, not a constant: a good share of the mutants is malformed, and some stay valid.
      expect(report.rejected).toBeGreaterThan(report.events * (REJECTED_SHARE[handler] ?? 0.3));
      expect(report.valid).toBeGreaterThan(0);
    }
  });
});
