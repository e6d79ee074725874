import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidEventPatternError, matchesPattern } from '../../events/matcher';
import { parseOptions, requireOption, type Command } from '../command';
import { summaryOf } from '../catalog';

export const matchCommand: Command = {
  name: 'match',
  summary: summaryOf('match'),
  usage: `Usage: deploy-guard match --pattern FILE --event FILE

Prints "true" and exits 0 when the event matches the pattern, prints "false" and exits 1 when it
does not. An invalid pattern (or a file that is not JSON) exits 2 with the reason on stderr.
Both files are read as raw JSON text, so number lexemes and duplicate keys count as they do in AWS.

Example:
  deploy-guard match --pattern rule.json --event events/samples/codedeploy-deployment-state-change.success.json`,
  async run(argv, io) {
    const options = parseOptions(argv, { pattern: 'value', event: 'value' });
    const patternFile = resolve(io.cwd, requireOption(options, 'pattern'));
    const eventFile = resolve(io.cwd, requireOption(options, 'event'));
    const [patternText, eventText] = await Promise.all([readText(patternFile), readText(eventFile)]);
    try {
      JSON.parse(eventText);
    } catch (error) {
      io.stderr.write(`deploy-guard match: event file ${eventFile} is not JSON: ${(error as Error).message}\n`);
      return 2;
    }
    try {
      const matched = matchesPattern(patternText, eventText);
      io.stdout.write(`${matched}\n`);
      return matched ? 0 : 1;
    } catch (error) {
      if (error instanceof InvalidEventPatternError) {
        io.stderr.write(`deploy-guard match: invalid pattern in ${patternFile}: ${error.message}\n`);
        return 2;
      }
      throw error;
    }
  },
};

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
