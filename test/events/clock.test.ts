import { ManualClock, eventBridgeTime } from '../../events/clock';

describe('eventBridgeTime', () => {
  it('writes ISO-8601 in UTC to the second, as EventBridge events carry it', () => {
    expect(eventBridgeTime(Date.parse('2026-11-22T21:04:56.789Z'))).toBe('2026-11-22T21:04:56Z');
    expect(eventBridgeTime(0)).toBe('1970-01-01T00:00:00Z');
  });

  it('gives each second its own text however calls interleave, before the epoch included', () => {
    const seconds = [1_700_000_000_000, 1_700_000_000_999, 1_700_000_001_000, 1_700_000_000_500, -1, -1000, -1001];
    expect(seconds.map(eventBridgeTime)).toEqual([
      '2023-11-14T22:13:20Z', '2023-11-14T22:13:20Z', '2023-11-14T22:13:21Z', '2023-11-14T22:13:20Z',
      '1969-12-31T23:59:59Z', '1969-12-31T23:59:59Z', '1969-12-31T23:59:58Z',
    ]);
  });

  it('refuses a time that is not a number of milliseconds', () => {
    expect(() => eventBridgeTime(Number.NaN)).toThrow(RangeError);
  });
});

describe('ManualClock', () => {
  it('moves forward only', () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    clock.advanceTo('2025-01-01T00:00:00Z');
    expect(clock.now()).toBe(Date.parse('2026-01-01T00:00:00Z'));
    clock.advanceBy(1500);
    expect(eventBridgeTime(clock.now())).toBe('2026-01-01T00:00:01Z');
    expect(() => clock.advanceBy(-1)).toThrow('cannot advance a clock by -1 ms');
  });
});
