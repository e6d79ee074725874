import { EventValidationError } from '../../events/validation';
import { everyPathMutations, mutate, type Mutant } from './mutate';
import { deriveSeed, Prng } from './prng';
import { InMemoryChangeSummaryStore } from '../../handlers/adapters/in-memory-stores';
import { instrument } from './ports';
import { ALL_BASES, TARGETS, type FuzzTarget } from './targets';

/**
 * The handler fuzzer: one handler against at least `count` malformed events made from the real
 * samples. First, at every path of every base event, a value of each other JSON type and the path
 * left out (deterministic); then random mutations, 1 to 3 each (mutate.ts), each from its own seed.
 *
 * The rule for each case: the handler either throws EventValidationError, naming one of its input
 * kinds, without having called any port; or it handles the event, and then the event is one its
 * schema accepts (re-validated here; any port calls allowed). A valid event may also end in an error
 * the handler documents for valid events it cannot act on (targets.ts, documentedErrors). Anything
 * else (a TypeError, a RangeError, a port called before an EventValidationError, an invalid event
 * handled, Object.prototype polluted) is a failure, reported with the seed, the case number and the
 * mutation in words.
 */

export interface FuzzSettings {
  readonly seed: number;
  /** Cases at least (systematic ones included; at least half of them random). */
  readonly count: number;
  /** Runs this case number only (to reproduce a failure). */
  readonly only?: number;
}

export interface HandlerReport {
  readonly handler: string;
  readonly events: number;
  /** EventValidationError before any port call. */
  readonly rejected: number;
  /** Resolved, and the schema confirms the event is valid. */
  readonly valid: number;
  /** A documented error of a valid event (targets.ts documentedErrors). */
  readonly documented: number;
  readonly failures: readonly string[];
  readonly seconds: number;
}

interface Case {
  readonly index: number;
  readonly base: string;
  readonly mutant: Mutant;
  /** Drives the fakes' answers; from the case's seed, independent of the mutation stream. */
  readonly rng: Prng;
  readonly seed: number;
}

/** The cases of a target: the systematic ones first, then random ones up to `count` (at least half random). */
function* casesOf(target: FuzzTarget, settings: FuzzSettings): Generator<Case> {
  const { seed: baseSeed, count, only } = settings;
  let index = 0;
  for (const base of target.bases) {
    for (const mutant of everyPathMutations(base)) {
      const seed = deriveSeed(baseSeed, target.name, 'fakes', index);
      if (only === undefined || only === index) yield { index, base: base.label, mutant, rng: new Prng(seed), seed };
      index += 1;
    }
  }
  const total = Math.max(count, index + Math.ceil(count / 2));
  for (; index < total; index += 1) {
    if (only !== undefined && only !== index) continue;
    const seed = deriveSeed(baseSeed, target.name, index);
    const rng = new Prng(seed);
    const base = rng.pick(target.bases);
    yield { index, base: base.label, mutant: mutate(rng, base, ALL_BASES), rng, seed };
  }
}

const POLLUTION_KEYS = ['polluted', 'isAdmin'];

function pollution(): string | undefined {
  const probe: Record<string, unknown> = {};
  const found = POLLUTION_KEYS.filter((key) => key in probe || key in Object.prototype);
  return found.length > 0 ? `Object.prototype polluted with ${found.join(', ')}` : undefined;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error thrown: ${String(error)}`;
  const message = error.message.length > 300 ? `${error.message.slice(0, 300)}…` : error.message;
  const where = error.constructor === EventValidationError ? '' : ` ${(error.stack ?? '').split('\n')[1]?.trim() ?? '(no stack)'}`;
  return `${error.constructor.name}: ${message}${where}`;
}

type Verdict = 'rejected' | 'valid' | 'documented' | { readonly failure: string };

async function judge(target: FuzzTarget, fuzzCase: Case): Promise<Verdict> {
  const log: string[] = [];
  const value = fuzzCase.mutant.value;
  let verdict: Verdict;
  try {
    await target.run(value, log, fuzzCase.rng);
    verdict = target.isValid(value) ? 'valid' : { failure: `handled (port calls: ${log.join(', ') || 'none'}) an event its schema rejects` };
  } catch (error) {
    if (error instanceof EventValidationError) {
      if (log.length > 0) verdict = { failure: `EventValidationError after port calls ${log.join(', ')}: ${describeError(error)}` };
      else if (!target.inputKinds.includes(error.eventKind)) verdict = { failure: `EventValidationError about ${error.eventKind}, not an input: ${describeError(error)}` };
      else verdict = 'rejected';
    } else if (error instanceof Error && error.constructor === Error && target.documentedErrors.some((pattern) => pattern.test(error.message))) {
      verdict = target.isValid(value) ? 'documented' : { failure: `documented error for an invalid event: ${describeError(error)}` };
    } else {
      verdict = { failure: `${describeError(error)} (port calls: ${log.join(', ') || 'none'})` };
    }
  }
  const polluted = pollution();
  return polluted ? { failure: polluted } : verdict;
}

/** Fuzzes one handler (by its name in TARGETS); the report's failures name seed, case and mutation. */
export async function fuzzHandler(name: string, settings: FuzzSettings): Promise<HandlerReport> {
  const target = TARGETS.find((candidate) => candidate.name === name);
  if (!target) throw new Error(`no fuzz target '${name}': the targets are ${TARGETS.map((candidate) => candidate.name).join(', ')}`);
  return fuzzTarget(target, settings);
}

/**
 * The fuzzer against handlers that break the rule on purpose, to show that it notices: one calls a
 * port before validating, one reads the event before validating (a TypeError on malformed input),
 * one never validates. Each report must have failures.
 */
export async function selfCheck(settings: FuzzSettings): Promise<Record<'portFirst' | 'crashes' | 'neverValidates', HandlerReport>> {
  const recordChange = TARGETS.find((target) => target.name === 'record-change')!;
  const portFirst: FuzzTarget = {
    ...recordChange,
    name: 'record-change calling a port first',
    async run(value, log, rng) {
      await instrument('store', new InMemoryChangeSummaryStore(), log).find('checkout', 'git:6f1c2a9e');
      return recordChange.run(value, log, rng);
    },
  };
  const crashes: FuzzTarget = {
    ...recordChange,
    name: 'record-change reading the event first',
    async run(value, log, rng) {
      if ((value as { detail: { application: string } }).detail.application.length > 100) return undefined;
      return recordChange.run(value, log, rng);
    },
  };
  const neverValidates: FuzzTarget = { ...recordChange, name: 'record-change never validating', run: async () => undefined };
  return {
    portFirst: await fuzzTarget(portFirst, settings),
    crashes: await fuzzTarget(crashes, settings),
    neverValidates: await fuzzTarget(neverValidates, settings),
  };
}

async function fuzzTarget(target: FuzzTarget, settings: FuzzSettings): Promise<HandlerReport> {
  const name = target.name;
  const counts = { events: 0, rejected: 0, valid: 0, documented: 0 };
  const failures: string[] = [];
  const started = performance.now();
  for (const fuzzCase of casesOf(target, settings)) {
    counts.events += 1;
    const verdict = await judge(target, fuzzCase);
    if (typeof verdict === 'string') {
      counts[verdict] += 1;
      continue;
    }
    failures.push(
      `FUZZ_SEED=${settings.seed} FUZZ_CASE=${fuzzCase.index} (case seed 0x${fuzzCase.seed.toString(16)}), base ${fuzzCase.base}\n` +
        `    mutation: ${fuzzCase.mutant.steps.join('; then ')}\n    → ${verdict.failure}`,
    );
  }
  return { handler: name, ...counts, failures, seconds: (performance.now() - started) / 1000 };
}
