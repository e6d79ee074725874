import { printFigure } from './figures';
/**
 * Matcher throughput: the system's whole rule set against a mix of real AWS sample events, on one
 * core. One event checked against every rule counts as one event.
 *
 *   npx tsx bench/matcher.ts            (or: npm run bench:matcher)
 *
 * Environment: BENCH_SECONDS (per measured round, default 1), BENCH_ROUNDS (default 5).
 * The figure reported is the median round.
 */

import { compilePattern, type CompiledPattern } from '../events/matcher';
import { SYSTEM_RULES } from '../events/patterns';
import { AWS_SAMPLES, derivedDeploymentEvent, derivedOwnAlarmEvent, derivedOwnTrainingJobEvent } from '../events/samples';

const TARGET = 250_000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

interface Row {
  readonly input: string;
  readonly rules: number;
  readonly events: number;
  readonly matchesPerPass: number;
  readonly eventsPerSecond: number;
}

function measure(input: string, rules: readonly CompiledPattern[], events: readonly unknown[]): Row {
  const pass = (): number => {
    let matched = 0;
    for (const event of events) for (const rule of rules) if (rule.matches(event)) matched += 1;
    return matched;
  };
  const matchesPerPass = pass();
  // Warm up for about a round, then time whole passes over the event mix.
  const warmUntil = performance.now() + SECONDS * 500;
  while (performance.now() < warmUntil) pass();
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let checked = 0;
    const start = performance.now();
    const end = start + SECONDS * 1000;
    let now = start;
    while (now < end) {
      if (pass() !== matchesPerPass) throw new Error('the matcher answered differently for the same input');
      checked += events.length;
      now = performance.now();
    }
    rates.push(checked / ((now - start) / 1000));
  }
  rates.sort((a, b) => a - b);
  return { input, rules: rules.length, events: events.length, matchesPerPass, eventsPerSecond: rates[Math.floor(rates.length / 2)] };
}

function table(rows: readonly Row[]): string {
  const header = ['event input', 'rules', 'events', 'matches/pass', 'events/s'];
  const cells = rows.map((r) => [r.input, String(r.rules), String(r.events), String(r.matchesPerPass), Math.round(r.eventsPerSecond).toLocaleString('en-US')]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: readonly string[]): string => `| ${c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? ':' : '-') + '-'.repeat(w) + (i === 0 ? '-' : ':')).join('|')}|`, ...cells.map(line)].join('\n');
}

function main(): void {
  const rules = SYSTEM_RULES.map((rule) => compilePattern(rule.pattern));
  // The real samples, plus the derived states that Deploy Guard's own rules exist for.
  const events = [
    ...AWS_SAMPLES,
    ...(['START', 'READY', 'STOP'] as const).map((state) => derivedDeploymentEvent(state)),
    derivedOwnAlarmEvent(),
    derivedOwnTrainingJobEvent(),
  ].map((sample) => sample.event);
  const texts = events.map((event) => JSON.stringify(event));

  console.log(`Matcher benchmark: ${rules.length} system rules (events/patterns.ts) x ${events.length} events (real AWS samples and derived states, events/samples.ts)`);
  console.log(`node ${process.version}, one core, median of ${ROUNDS} rounds of ${SECONDS}s; one event = checked against all rules\n`);
  const values = measure('parsed values', rules, events);
  const text = measure('JSON text (parsed once per event)', rules, texts);
  console.log(table([values, text]));
  console.log('');
  const rate = Math.round(values.eventsPerSecond);
  console.log(`matcher: ${rate} events/s (target ${TARGET}) ${rate >= TARGET ? 'OK' : 'BELOW TARGET'}`);
  printFigure({ name: 'matcher, parsed events', value: rate, unit: 'events/s', target: `≥ ${TARGET.toLocaleString('en-US')}`, ok: rate >= TARGET });
  printFigure({ name: 'matcher, JSON text', value: Math.round(text.eventsPerSecond), unit: 'events/s' });
}

main();
