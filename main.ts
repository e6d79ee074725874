import { App } from 'cdktf';
import { DeployGuardStack } from './stacks/deploy-guard-stack';

/** `cdktf synth` / `cdktf deploy`: one stack per environment. */
export function buildApp(outdir?: string): App {
  const app = new App(outdir ? { outdir } : undefined);
  const accountId = process.env.DEPLOY_GUARD_ACCOUNT_ID ?? '123456789012';
  const region = process.env.DEPLOY_GUARD_REGION ?? 'us-east-1';
  for (const environment of ['dev', 'staging', 'prod']) {
    new DeployGuardStack(app, `deploy-guard-${environment}`, { environment, region, accountId });
  }
  return app;
}

if (require.main === module) buildApp().synth();
