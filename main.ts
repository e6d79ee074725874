// First: when this file is the program, turns source maps off before anything else loads.
import './stacks/synthesis-entry';
import { App } from 'cdktf';
import { ConfigError, configWarnings, DEFAULT_CONFIG_FILE, loadConfig, type DeployGuardConfig } from './stacks/config';
import { DeployGuardStack } from './stacks/deploy-guard-stack';

/** The shipped configuration: one entry per environment. */
export const CONFIG_FILE = DEFAULT_CONFIG_FILE;

/**
 * `cdktf synth` / `cdktf deploy`: one stack per environment of the configuration, named
 * `deploy-guard-<environment>`. The configuration is validated before anything is synthesized.
 */
export function buildApp(options: { readonly outdir?: string; readonly config?: DeployGuardConfig } = {}): App {
  const config = options.config ?? loadConfig(process.env.DEPLOY_GUARD_CONFIG ?? CONFIG_FILE);
  for (const warning of configWarnings(config)) process.emitWarning(warning, 'DeployGuardConfigWarning');
  const app = new App(options.outdir ? { outdir: options.outdir } : undefined);
  for (const [environment, settings] of Object.entries(config.environments)) {
    new DeployGuardStack(app, `deploy-guard-${environment}`, { environment, config: settings });
  }
  return app;
}

/**
 * Synthesizes the app (`npm run synth`, `cdktf synth`). A mistake in the configuration is one line per
 * problem, each naming the file and the key path, and exit status 2: no stack trace (the transpiled
 * source it would quote is kilobytes of minified code). Any other failure says how to see its stack.
 */
export function synthesize(io: { readonly stderr: { write(text: string): unknown } } = process, build: () => App = () => buildApp()): number {
  try {
    build().synth();
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) io.stderr.write(`deploy-guard synth: ${error.file}: ${problem}\n`);
      return 2;
    }
    if (process.env.DEPLOY_GUARD_DEBUG) throw error;
    io.stderr.write(`deploy-guard synth: ${error instanceof Error ? error.message : String(error)} (DEPLOY_GUARD_DEBUG=1 shows where)\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = synthesize();
