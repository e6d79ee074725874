/**
 * EventBridge's service limit on wildcard patterns ("Rule is too complex - try using fewer wildcard
 * characters or fewer repeating character sequences after a wildcard character").
 *
 * AWS documents the limit only qualitatively (eb-create-pattern-operators.html, "wildcards and
 * event pattern complexity"): a rule is rejected when its wildcards make matching too
 * non-deterministic. The measure modelled here is the one of event-ruler's
 * MachineComplexityEvaluator: the largest number of wildcard-pattern prefixes that one
 * (worst-case) value of a field can match at the same time - that is, how many positions of the
 * wildcard automaton a single value keeps alive. `*a*a*a*` scores 7 on "aaa" ("*", "*a", "*a*",
 * ..., "*a*a*a*"); a wildcard followed by a long literal scores little, unless the literal repeats
 * itself (`/x/*` + `/dir/dir/dir` keeps one position per repetition alive).
 *
 * The threshold is event-ruler's suggested per-rule maximum of 10, and it agrees with what AWS
 * is recorded to accept and reject: accepted are one star followed by a five-times repeated "/dir"
 * (7 positions) and three "*:stack/NAME/*" alternatives on one field (9); rejected are five leading
 * stars each followed by ':' (11: the trailing star stays alive after a full match) and four of
 * those stack alternatives (12).
 */

/** The most wildcard-pattern prefixes one value of a field may keep alive; more is "too complex". */
export const WILDCARD_COMPLEXITY_MAX = 10;

/** Position sets explored before giving up: a field that needs more is treated as too complex. */
const EXPLORATION_BUDGET = 20_000;

const STAR = -1;
const OTHER_CHAR = -2;

/**
 * The wildcard complexity of one field: the maximum, over all values, of the number of pattern
 * prefixes matching the value. Each wildcard string (`\*` and `\\` escapes allowed) counts on its
 * own. Evaluation stops as soon as `cap` is reached, and returns `cap`.
 */
export function wildcardComplexity(wildcards: readonly string[], cap = WILDCARD_COMPLEXITY_MAX + 1): number {
  const patterns = [...new Set(wildcards)].map(tokenize);
  if (patterns.length === 0) return 0;

  // Every (pattern, prefix length) pair gets an id; prefix length 0 only exists before any input.
  const base: number[] = [];
  let ids = 0;
  for (const tokens of patterns) {
    base.push(ids);
    ids += tokens.length + 1;
  }
  const patternOf = new Int32Array(ids);
  const lengthOf = new Int32Array(ids);
  patterns.forEach((tokens, p) => {
    for (let k = 0; k <= tokens.length; k++) {
      patternOf[base[p] + k] = p;
      lengthOf[base[p] + k] = k;
    }
  });

  const alphabet = new Set<number>([OTHER_CHAR]);
  for (const tokens of patterns) for (const t of tokens) if (t !== STAR) alphabet.add(t);

  const close = (set: Set<number>, id: number): void => {
    const tokens = patterns[patternOf[id]];
    let k = lengthOf[id];
    set.add(id);
    while (k < tokens.length && tokens[k] === STAR) {
      k += 1;
      set.add(id - lengthOf[id] + k);
    }
  };

  const start = new Set<number>();
  for (let p = 0; p < patterns.length; p++) close(start, base[p]);

  let maximum = 0;
  const seen = new Set<string>();
  const pending: number[][] = [[...start]];
  while (pending.length > 0) {
    const current = pending.pop() as number[];
    for (const c of alphabet) {
      const next = new Set<number>();
      for (const id of current) {
        const tokens = patterns[patternOf[id]];
        const k = lengthOf[id];
        if (k > 0 && tokens[k - 1] === STAR) close(next, id); // the star absorbs c
        if (k < tokens.length && tokens[k] === c) close(next, id + 1);
      }
      if (next.size === 0) continue;
      if (next.size >= cap) return cap;
      if (next.size > maximum) maximum = next.size;
      const sorted = [...next].sort((a, b) => a - b);
      const key = sorted.join(',');
      if (seen.has(key)) continue;
      seen.add(key);
      if (seen.size > EXPLORATION_BUDGET) return cap;
      pending.push(sorted);
    }
  }
  return maximum;
}

/** Wildcard syntax (already validated) to tokens: UTF-16 code units, and STAR for an unescaped `*`. */
function tokenize(text: string): number[] {
  const tokens: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2a) tokens.push(STAR);
    else if (c === 0x5c && i + 1 < text.length) tokens.push(text.charCodeAt(++i));
    else tokens.push(c);
  }
  return tokens;
}
