/**
 * A small seeded pseudo-random generator for the fuzzers: the same seed gives the same sequence on
 * every machine, so a failing case is reproduced from its seed alone. Never Math.random.
 *
 * The state is 32 bits advanced by an odd constant (a Weyl sequence) and scrambled by two rounds of
 * xor-shift-multiply, which is plenty for choosing mutations (not for anything cryptographic).
 */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** The next unsigned 32-bit integer. */
  uint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let value = this.state;
    value = Math.imul(value ^ (value >>> 16), 0x85ebca6b);
    value = Math.imul(value ^ (value >>> 13), 0xc2b2ae35);
    return (value ^ (value >>> 16)) >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.uint32() / 0x1_0000_0000;
  }

  /** An integer in [0, bound). */
  int(bound: number): number {
    if (!(Number.isInteger(bound) && bound > 0)) throw new RangeError(`Prng.int: bound ${bound} must be a positive integer`);
    return Math.floor(this.float() * bound);
  }

  /** An integer in [low, high]. */
  between(low: number, high: number): number {
    return low + this.int(high - low + 1);
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick: nothing to pick from');
    return items[this.int(items.length)];
  }

  /** Picks by weight: `[[weight, item], ...]`. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((sum, [weight]) => sum + weight, 0);
    let point = this.float() * total;
    for (const [weight, item] of choices) {
      point -= weight;
      if (point < 0) return item;
    }
    return choices[choices.length - 1][1];
  }
}

/** A 32-bit seed derived from a base seed and labels (FNV-1a over the text), so each case has its own stream. */
export function deriveSeed(base: number, ...labels: (string | number)[]): number {
  let hash = 0x811c9dc5 ^ (base >>> 0);
  for (const char of labels.join('\u0000')) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The fuzzers' base seed: FUZZ_SEED from the environment (decimal or 0x hex), or a fixed default. */
export function baseSeed(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.FUZZ_SEED;
  if (text === undefined || text === '') return 0x5eed_2026;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new Error(`FUZZ_SEED '${text}' must be an unsigned 32-bit integer`);
  return value;
}

/** How many cases per target: FUZZ_COUNT from the environment, or `fallback`. */
export function caseCount(fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const text = env.FUZZ_COUNT;
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`FUZZ_COUNT '${text}' must be a positive integer`);
  return value;
}
