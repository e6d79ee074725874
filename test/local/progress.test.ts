import { ProgressBar, formatDuration } from '../../local/progress';

/** A stream that records what was written, and a clock the test moves by hand. */
function setup(stream: { isTTY?: boolean; columns?: number }) {
  const written: string[] = [];
  let time = 0;
  const sink = { ...stream, write: (text: string) => written.push(text) };
  return {
    written,
    sink,
    now: () => time,
    at: (millis: number) => {
      time = millis;
    },
  };
}

describe('ProgressBar on a terminal', () => {
  it('redraws one line in place with \\r, at most every 100 ms, always at the end', () => {
    const { written, sink, now, at } = setup({ isTTY: true, columns: 80 });
    const bar = new ProgressBar({ total: 1000, stream: sink, now });
    at(1000);
    bar.update(100);
    at(1050);
    bar.update(150); // 50 ms after the last redraw: not drawn
    at(1100);
    bar.update(200);
    at(1500);
    bar.update(1000);
    bar.finish();
    const full = `replay [${'#'.repeat(30)}] 1,000/1,000 (100%) 667/s ETA 0s`;
    expect(written).toEqual([
      `\rreplay [###${'.'.repeat(27)}] 100/1,000 (10%) 100/s ETA 9s`,
      `\rreplay [######${'.'.repeat(24)}] 200/1,000 (20%) 182/s ETA 4s`,
      `\r${full}`,
      `\r${'replay: 1,000/1,000 (100%) 667/s in 2s'.padEnd(full.length)}\n`,
    ]);
  });

  it('blanks what is left of a longer previous line and says ? while the rate is unknown', () => {
    const { written, sink, now, at } = setup({ isTTY: true, columns: 80 });
    const bar = new ProgressBar({ total: 100_000, stream: sink, now, label: 'slice' });
    bar.update(0);
    at(10_000);
    bar.update(1000); // 100/s: 990 s left
    at(20_000);
    bar.update(99_000); // 4,950/s: 0 s left
    const first = `slice [${'.'.repeat(30)}] 0/100,000 (0%) ?/s ETA ?`;
    const second = `slice [${'.'.repeat(30)}] 1,000/100,000 (1%) 100/s ETA 16m30s`;
    const third = `slice [${'#'.repeat(29)}.] 99,000/100,000 (99%) 4,950/s ETA 0s`;
    expect(written).toEqual([`\r${first}`, `\r${second.padEnd(first.length)}`, `\r${third.padEnd(second.length)}`]);
  });

  it('never writes past the last column of a narrow terminal', () => {
    const { written, sink, now, at } = setup({ isTTY: true, columns: 40 });
    const bar = new ProgressBar({ total: 1000, stream: sink, now });
    at(1000);
    bar.update(100);
    // No room for a bar: the figures alone.
    expect(written).toEqual(['\rreplay: 100/1,000 (10%) 100/s ETA 9s']);
    const tiny = setup({ isTTY: true, columns: 20 });
    const narrow = new ProgressBar({ total: 1000, stream: tiny.sink, now: tiny.now });
    tiny.at(1000);
    narrow.update(100);
    expect(tiny.written).toEqual(['\rreplay: 100/1,000 (']);
  });
});

describe('ProgressBar into a file or a pipe', () => {
  it('writes a plain line at each 10 % and a final line, never \\r', () => {
    const { written, sink, now, at } = setup({ isTTY: false });
    const bar = new ProgressBar({ total: 1000, stream: sink, now });
    for (let done = 1; done <= 1000; done += 1) {
      at(done * 10);
      bar.increment();
    }
    bar.finish();
    expect(written).toEqual([
      'replay: 100/1,000 (10%) 100/s ETA 9s\n',
      'replay: 200/1,000 (20%) 100/s ETA 8s\n',
      'replay: 300/1,000 (30%) 100/s ETA 7s\n',
      'replay: 400/1,000 (40%) 100/s ETA 6s\n',
      'replay: 500/1,000 (50%) 100/s ETA 5s\n',
      'replay: 600/1,000 (60%) 100/s ETA 4s\n',
      'replay: 700/1,000 (70%) 100/s ETA 3s\n',
      'replay: 800/1,000 (80%) 100/s ETA 2s\n',
      'replay: 900/1,000 (90%) 100/s ETA 1s\n',
      'replay: 1,000/1,000 (100%) 100/s in 10s\n',
    ]);
  });

  it('writes one line for a jump over several steps, honours everyPercent, and reports an unfinished run', () => {
    const { written, sink, now, at } = setup({});
    const bar = new ProgressBar({ total: 200, stream: sink, now, everyPercent: 25 });
    at(2000);
    bar.update(120); // 60 %: past the 25 % and 50 % marks at once
    at(3000);
    bar.update(140); // 70 %: no new mark
    at(4000);
    bar.update(150); // 75 %
    at(8000);
    bar.finish();
    expect(written).toEqual(['replay: 120/200 (60%) 60/s ETA 1s\n', 'replay: 150/200 (75%) 38/s ETA 1s\n', 'replay: 150/200 (75%) 19/s in 8s\n']);
  });

  it('handles an empty replay', () => {
    const { written, sink, now } = setup({});
    const bar = new ProgressBar({ total: 0, stream: sink, now });
    bar.update(0);
    bar.finish();
    bar.finish(); // a second finish writes nothing
    expect(written).toEqual(['replay: 0/0 (100%) in 0s\n']);
  });
});

describe('ProgressBar input checks', () => {
  const bar = () => new ProgressBar({ total: 10, stream: { write: () => true }, now: () => 0 });

  it('rejects counts beyond the total, going back, fractions and updates after finish', () => {
    expect(() => bar().update(11)).toThrow('progress: done must be a whole number from 0 to the total 10, got 11');
    expect(() => bar().update(2.5)).toThrow('progress: done must be a whole number from 0 to the total 10, got 2.5');
    const going = bar();
    going.update(5);
    expect(() => going.update(4)).toThrow('progress: done went back from 5 to 4');
    going.finish();
    expect(() => going.update(6)).toThrow('progress: update after finish');
    expect(() => new ProgressBar({ total: -1, stream: { write: () => true }, now: () => 0 })).toThrow('progress: total must be a whole number of deployments, got -1');
  });
});

describe('formatDuration', () => {
  it('writes seconds, minutes and hours the short way', () => {
    expect([0, 9.4, 59.4, 65, 3599, 3600 + 180 + 59].map(formatDuration)).toEqual(['0s', '9s', '59s', '1m05s', '59m59s', '1h03m']);
  });
});

describe('ProgressBar with training beside the replay', () => {
  it('leaves the training spent out of the replay rate and adds the training still to come to the ETA', () => {
    const { written, sink, now, at } = setup({});
    const bar = new ProgressBar({ total: 1000, stream: sink, now });
    at(500);
    bar.update(100, { wallMs: 0, leftMs: 0 });
    at(1000);
    // 1 s in, 200 done, of which 0.5 s was a training job: the replay alone runs at 400/s (2 s left), and two jobs of 30 s are to come.
    bar.update(200, { wallMs: 500, leftMs: 60_000 });
    at(1500);
    bar.update(300, { wallMs: 500, leftMs: 0 });
    bar.finish();
    expect(written).toEqual([
      'replay: 100/1,000 (10%) 200/s ETA 5s\n',
      'replay: 200/1,000 (20%) 200/s ETA 1m02s (1m00s training)\n',
      'replay: 300/1,000 (30%) 200/s ETA 2s\n',
      'replay: 300/1,000 (30%) 200/s in 2s\n',
    ]);
  });

  it('counts only the training after it started (the first model was trained before the bar)', () => {
    const { written, sink, now, at } = setup({});
    const bar = new ProgressBar({ total: 1000, stream: sink, now });
    at(1000);
    bar.update(100, { wallMs: 40_000, leftMs: 0 });
    expect(written).toEqual(['replay: 100/1,000 (10%) 100/s ETA 9s\n']);
  });
});
