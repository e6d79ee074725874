import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HANDLER_NAMES } from '../../handlers/entries';
import { synthesizeAll } from './synth-support';

/**
 * The synthesized stacks, checked by Terraform itself with the real hashicorp/aws provider (5.100.0,
 * from the filesystem mirror /opt/tf-plugins): init, validate, and a real plan with fake credentials
 * and the provider's skip flags. Plan proves that nothing needs AWS: no data source reads the account.
 */

const TERRAFORM = '/usr/local/bin/terraform';
const MIRROR = '/opt/tf-plugins';
const run = promisify(execFile);
const available = existsSync(TERRAFORM) && existsSync(MIRROR);

if (!available) {
  if (process.env.CI === 'true') throw new Error(`${TERRAFORM} or ${MIRROR} is missing, and CI=true: install Terraform 1.11 and the aws provider mirror`);
  console.warn(`SKIPPED test/stacks/terraform.test.ts: ${TERRAFORM} or the provider mirror ${MIRROR} is missing`);
}

(available ? describe : describe.skip)('terraform validate and plan of every stack', () => {
  it('initializes, validates and plans every environment without AWS', async () => {
    const started = Date.now();
    const { outdir, stacks } = synthesizeAll();
    const synthMs = Date.now() - started;
    // The unpacked mirror is symlinked, not copied, into each stack's .terraform: init stays fast.
    const cliConfig = join(outdir, 'terraform.rc');
    writeFileSync(cliConfig, `provider_installation {\n  filesystem_mirror {\n    path    = "${MIRROR}"\n    include = ["registry.terraform.io/hashicorp/*"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n`);
    const env = { ...process.env, TF_CLI_CONFIG_FILE: cliConfig, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', AWS_EC2_METADATA_DISABLED: 'true' };

    const results = await Promise.all(
      stacks.map(async (stack) => {
        const region = (stack.json.provider as { aws: { region: string }[] }).aws[0].region;
        // Test-only: fake credentials and the skip flags, so the provider never calls AWS; the state
        // stays local (an S3 backend of the configuration would need AWS).
        writeFileSync(
          join(stack.dir, 'test_override.tf.json'),
          JSON.stringify({
            terraform: { backend: { local: { path: join(stack.dir, 'test.tfstate') } } },
            provider: {
              aws: [
                {
                  region,
                  access_key: 'AKIAFAKEFAKEFAKEFAKE',
                  secret_key: 'fake-secret-key-for-plan-only',
                  skip_credentials_validation: true,
                  skip_requesting_account_id: true,
                  skip_metadata_api_check: true,
                  skip_region_validation: true,
                  // The account guard needs the real account id, which the skip flags leave unknown.
                  allowed_account_ids: null,
                },
              ],
            },
          }),
        );
        const terraform = (...args: string[]) => run(TERRAFORM, args, { cwd: stack.dir, env, maxBuffer: 64 * 1024 * 1024 });
        const t0 = Date.now();
        // The backend is the local one of the override: initializing it needs no AWS, and plan needs it initialized.
        await terraform('init', '-input=false', '-no-color');
        const t1 = Date.now();
        const validate = await terraform('validate', '-json', '-no-color');
        const t2 = Date.now();
        const plan = await terraform('plan', '-refresh=false', '-lock=false', '-input=false', '-no-color');
        const t3 = Date.now();
        return { name: stack.name, validate: JSON.parse(validate.stdout) as { valid: boolean; warning_count: number }, plan: plan.stdout, ms: { init: t1 - t0, validate: t2 - t1, plan: t3 - t2 } };
      }),
    );
    console.log(`synth ${synthMs} ms; ${results.map((r) => `${r.name}: init ${r.ms.init} ms, validate ${r.ms.validate} ms, plan ${r.ms.plan} ms`).join('; ')}`);
    for (const result of results) {
      expect({ stack: result.name, valid: result.validate.valid }).toEqual({ stack: result.name, valid: true });
      expect(result.plan).toMatch(/Plan: \d+ to add, 0 to change, 0 to destroy\./);
      // Every Lambda function of the stack is planned.
      expect(result.plan.match(/# aws_lambda_function\.\S+ will be created/g)?.length).toBe(HANDLER_NAMES.length);
      // The retraining schedule: a rate rule on the default bus, which the provider accepts.
      expect(result.plan).toMatch(/# aws_cloudwatch_event_rule\.retraining_rule-retraining-schedule_\w+ will be created/);
      expect(result.plan).toMatch(/\+ schedule_expression\s+= "rate\(180 days\)"/);
    }
  });
});
