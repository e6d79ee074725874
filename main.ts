// First: when this file is the program, turns source maps off before anything else loads.
import './stacks/synthesis-entry';
import { join } from 'node:path';
import { App } from 'cdktf';
import { configWarnings, loadConfig, type DeployGuardConfig } from './stacks/config';
import { DeployGuardStack } from './stacks/deploy-guard-stack';

/** The shipped configuration: one entry per environment. */
export const CONFIG_FILE = join(__dirname, 'deploy-guard.config.json');

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

if (require.main === module) buildApp().synth();
