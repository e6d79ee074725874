import { join } from 'node:path';
import { isSynthesisEntry } from '../../stacks/synthesis-entry';

describe('isSynthesisEntry (stacks/synthesis-entry.ts)', () => {
  const main = join(__dirname, '..', '..', 'main.ts');

  it('is true when main.ts is the program, as node -r tsx/cjs, tsx or cdktf run it', () => {
    expect(isSynthesisEntry(['/usr/bin/node', main])).toBe(true);
    expect(isSynthesisEntry(['/usr/bin/node', main.replace(/\.ts$/, '')])).toBe(true);
  });

  it('is false when another program imports main.ts (jest, a script) or there is no program file', () => {
    expect(isSynthesisEntry(['/usr/bin/node', join(__dirname, '..', '..', 'node_modules', '.bin', 'jest')])).toBe(false);
    expect(isSynthesisEntry(['/usr/bin/node', join(__dirname, 'main.ts')])).toBe(false);
    expect(isSynthesisEntry(['/usr/bin/node'])).toBe(false);
  });
});
