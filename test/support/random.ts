/**
 * A seeded uniform generator on [0, 1) (mulberry32): the same stream on every run, so a test over
 * random data is a specification, not a dice roll. The embedded trainer's own generator.
 */
export { seededRandom } from '../../model/gbdt';
