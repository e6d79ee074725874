import { bytesNeeded, InsufficientDiskSpaceError, requireSpace, RUN_FIXED_BYTES } from '../../local/disk-space';
import { EVENTS_BYTES_PER_DEPLOYMENT } from '../../local/report-tap';

/** A backtest refuses to start when its output disk cannot hold what it will write (local/disk-space.ts). */
describe('the disk space a backtest needs', () => {
  const need = { deployments: 55_719, compressedEvents: true };

  it('is the events of every deployment, gzipped or plain, and a fixed part for the report, model and training', () => {
    expect(bytesNeeded(need)).toBe(55_719 * EVENTS_BYTES_PER_DEPLOYMENT.gzip + RUN_FIXED_BYTES);
    expect(bytesNeeded({ ...need, compressedEvents: false })).toBe(55_719 * EVENTS_BYTES_PER_DEPLOYMENT.plain + RUN_FIXED_BYTES);
  });

  it('lets a run start when the disk holds it', () => {
    expect(() => requireSpace('out/backtest', need, bytesNeeded(need))).not.toThrow();
  });

  it('refuses a run the disk cannot hold, saying how much is free and needed and what to do', () => {
    const free = 20 * 1024 * 1024;
    expect(() => requireSpace('out/backtest', { ...need, compressedEvents: false }, free)).toThrow(
      new InsufficientDiskSpaceError(
        'out/backtest: 20 MB free on its disk, and the backtest of 55,719 deployments needs about 330 MB (events.jsonl 266 MB, report, model and training 64 MB): ' +
          'free some space, write elsewhere with --out DIR, drop --plain-events (gzip is 18 times smaller), or replay less with --limit N',
      ),
    );
  });

  it('reads the free space of a real folder', () => {
    expect(() => requireSpace(__dirname, { deployments: 10, compressedEvents: true })).not.toThrow();
  });
});
