import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbControlStore } from '../../handlers/adapters/dynamodb-stores';
import { driftConfigFromEnv } from '../../handlers/drift';
import { dataWindow, trainingJobName, trainingJobSpec } from '../../handlers/drift-domain';
import type { ServingModelPointer } from '../../handlers/ports';
import { promoteConfigFromEnv } from '../../handlers/promote';
import { modelNames } from '../../handlers/promote-domain';
import { servedModelUri, TRAINING_ROWS_PREFIX } from '../../handlers/s3-layout';
import { CONTROL_KEYS } from '../../handlers/tables';
import { trainingRowKey } from '../../handlers/training-row';
import { readWiring } from '../../local/terraform-wiring';
import { isAllowed, roleStatements, type AccessRequest } from '../../stacks/policy-check';
import { synthesizeAll } from './synth-support';

/**
 * Every S3 URI a handler (or SageMaker on a handler's behalf) uses, built with the handlers' own
 * functions from each stack's synthesized settings, checked against the synthesized role of whoever
 * uses it: allowed for what the code uses, denied for the neighbouring paths (least privilege), and
 * denied for any training or notebook role on what the endpoint serves (F-03, F-05).
 */

const dynamo = mockClient(DynamoDBClient);
const { stacks } = synthesizeAll();

/** `s3://bucket/key` as the ARN IAM evaluates (every configured region is in the aws partition). */
function objectArn(s3Url: string): string {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(s3Url);
  if (!match) throw new Error(`not an s3:// URL: ${s3Url}`);
  return `arn:aws:s3:::${match[1]}/${match[2]}`;
}
const get = (s3Url: string): AccessRequest => ({ action: 's3:GetObject', resource: objectArn(s3Url) });
const put = (s3Url: string): AccessRequest => ({ action: 's3:PutObject', resource: objectArn(s3Url) });
/** ListObjectsV2 of a prefix (what a training channel and the row counter do). */
const list = (s3Url: string): AccessRequest => {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(s3Url)!;
  return { action: 's3:ListBucket', resource: `arn:aws:s3:::${match[1]}`, context: { 's3:prefix': match[2] } };
};
const describeRequest = (request: AccessRequest) => `${request.action} ${request.resource}${request.context ? ` ${JSON.stringify(request.context)}` : ''}`;

describe.each(stacks.map((stack) => [stack.name, stack] as const))('S3 access in %s: every role allows what its handler builds, and nothing beside it', (_name, stack) => {
  const wiring = readWiring(stack.json);
  const environment = (handler: string) => {
    const fn = wiring.functions.find((candidate) => candidate.handler === handler)!;
    // A variable holding a KMS key's ARN stays unresolved as a whole (only AWS knows a key's id): the
    // key gets a stand-in ARN, the roles in it their own (what promote does with them is not S3 access).
    const roleNames = (stack.json.resource as Record<string, Record<string, { name?: string }>>).aws_iam_role;
    const withArns = Object.fromEntries(
      Object.entries(fn.unresolvedEnvironment).map(([key, value]) => [
        key,
        value
          .replace(/\$\{aws_kms_key\.([\w-]+)\.arn\}/g, 'arn:aws:kms:us-east-1:123456789012:key/$1')
          .replace(/\$\{aws_iam_role\.([\w-]+)\.arn\}/g, (_token, id: string) => `arn:aws:iam::123456789012:role/${roleNames[id].name}`),
      ]),
    );
    return { ...fn.environment, ...withArns };
  };
  const drift = driftConfigFromEnv(environment('drift'));
  const promote = promoteConfigFromEnv(environment('promote'));
  const { namePrefix, dataBucket, modelBucket, settings } = drift;
  const role = (name: string) => roleStatements(stack.json, name);
  // A function's role has the function's name (stacks/nodejs-function.ts).
  const functionRole = (handler: string) => role(wiring.functions.find((candidate) => candidate.handler === handler)!.functionName);
  const roles = {
    training: role(`${namePrefix}-sagemaker`),
    endpoint: role(`${namePrefix}-endpoint`),
    predict: functionRole('predict'),
    trafficHook: functionRole('traffic-hook'),
    recordOutcome: functionRole('record-outcome'),
    drift: functionRole('drift'),
    promote: functionRole('promote'),
  };
  const expectAccess = (statements: ReturnType<typeof role>, allowed: readonly AccessRequest[], denied: readonly AccessRequest[]) => {
    expect(allowed.filter((request) => !isAllowed(statements, request)).map(describeRequest)).toEqual([]);
    expect(denied.filter((request) => isAllowed(statements, request)).map(describeRequest)).toEqual([]);
  };

  // The serving pointer the stack seeds, read back by the real control-store adapter.
  const seeded = (async (): Promise<ServingModelPointer> => {
    const items = Object.values((stack.json.resource as Record<string, Record<string, { item: string; table_name: string }>>).aws_dynamodb_table_item);
    expect(items).toHaveLength(1);
    dynamo.reset();
    dynamo.on(GetItemCommand, { TableName: items[0].table_name, Key: { key: { S: CONTROL_KEYS.servingModel } } }).resolves({ Item: JSON.parse(items[0].item) });
    const pointer = await new DynamoDbControlStore(new DynamoDBClient({ region: 'us-east-1' }), items[0].table_name).readServingModel();
    return pointer!;
  })();

  // What drift starts on an alarm, as the real domain functions build it.
  const alarmTime = '2026-11-20T09:00:00.000Z';
  const jobName = trainingJobName(namePrefix, settings.alarmNames[0], alarmTime);
  const spec = async () =>
    trainingJobSpec({ jobName, alarmName: settings.alarmNames[0], window: dataWindow(Date.parse(alarmTime), settings.dataWindowDays), settings, namePrefix, dataBucket, modelBucket, serving: await seeded });
  // Where SageMaker writes a job's artifacts under its S3OutputPath, and what promote then reads and serves.
  const jobArtifacts = async () => {
    const model = `${(await spec()).outputS3Uri.replace(/\/$/, '')}/${jobName}/output/model.tar.gz`;
    return { model, output: model.replace(/model\.tar\.gz$/, 'output.tar.gz'), served: servedModelUri(promote.modelBucket, modelNames(jobName).modelVersion) };
  };
  const row = `s3://${dataBucket}/${trainingRowKey({ deploymentId: 'd-ABCDEF123', startedAt: Date.parse(alarmTime) })}`;
  const otherJob = jobName.replace(namePrefix, 'someone-else');

  it('seeds the serving pointer with the files the stack uploads, and promote carries its feature list over', async () => {
    const pointer = await seeded;
    const objects = Object.values((stack.json.resource as Record<string, Record<string, { bucket: string; key: string }>>).aws_s3_object);
    const uploaded = objects.map((object) => `s3://${object.bucket}/${object.key}`);
    expect(uploaded).toEqual(expect.arrayContaining([pointer.modelDataUrl, pointer.featuresUrl]));
    expect(pointer).toEqual({ modelVersion: 'initial', modelDataUrl: `s3://${modelBucket}/models/initial/model.tar.gz`, featuresUrl: `s3://${modelBucket}/models/initial/features.json`, promotedAt: 0 });
    expect(promote.initialFeaturesUrl).toBe(pointer.featuresUrl);
    // predict finds the model through the pointer (no bucket in its environment), and may read it.
    expect([get(pointer.modelDataUrl), get(pointer.featuresUrl)].filter((request) => !isAllowed(roles.predict, request)).map(describeRequest)).toEqual([]);
  });

  it("the training role reads the rows, the code and the serving model, and writes only its job's output", async () => {
    const job = await spec();
    const artifacts = await jobArtifacts();
    const pointer = await seeded;
    expectAccess(
      roles.training,
      [list(job.trainS3Uri), get(row), get(settings.sourceDirS3Uri), list(job.servingModelS3Uri!), get(job.servingModelS3Uri!), put(artifacts.model), put(artifacts.output)],
      [
        put(pointer.modelDataUrl),
        put(pointer.featuresUrl),
        put(artifacts.served),
        put(settings.sourceDirS3Uri),
        put(artifacts.model.replace(jobName, otherJob)),
        put(row),
        list(`s3://${dataBucket}/`),
      ],
    );
    expect(job.trainS3Uri).toBe(`s3://${dataBucket}/${TRAINING_ROWS_PREFIX}`);
  });

  it('the endpoint role reads the first model and what promote deploys, not the training output', async () => {
    const artifacts = await jobArtifacts();
    expectAccess(roles.endpoint, [get((await seeded).modelDataUrl), get(artifacts.served)], [get(artifacts.model), put(artifacts.served), get(row)]);
  });

  it("promote reads its jobs' models and the validation rows, and writes their served copy, never the first model, the code or the output", async () => {
    const artifacts = await jobArtifacts();
    const pointer = await seeded;
    expectAccess(
      roles.promote,
      [get(artifacts.model), put(artifacts.served), get(pointer.modelDataUrl), get(row), list(`s3://${dataBucket}/${TRAINING_ROWS_PREFIX}date=2026-11-01`)],
      [put(pointer.modelDataUrl), put(pointer.featuresUrl), put(artifacts.model), put(settings.sourceDirS3Uri), get(artifacts.model.replace(jobName, otherJob)), put(row)],
    );
  });

  it('predict reads the served model files (the traffic hook, which never scores, does not); predict and record-outcome write the rows; drift counts them', async () => {
    const pointer = await seeded;
    const artifacts = await jobArtifacts();
    const promoted = [get(artifacts.served), get(pointer.featuresUrl)];
    expectAccess(roles.predict, [get(pointer.modelDataUrl), ...promoted, put(row)], [get(artifacts.model), put(pointer.modelDataUrl), get(settings.sourceDirS3Uri)]);
    expectAccess(roles.trafficHook, [], [get(pointer.modelDataUrl), ...promoted, get(artifacts.model), put(row)]);
    expectAccess(roles.recordOutcome, [put(row)], [get(row), put(`s3://${dataBucket}/training/x.csv`), put(pointer.modelDataUrl)]);
    expectAccess(roles.drift, [list(`s3://${dataBucket}/${TRAINING_ROWS_PREFIX}date=2026-11-01`), get(row)], [put(row), list(`s3://${dataBucket}/`), put(artifacts.model)]);
  });

  const notebookRole = `${namePrefix}-notebook`;
  const hasNotebook = Object.values((stack.json.resource as Record<string, Record<string, { name?: string }>>).aws_iam_role).some((config) => config.name === notebookRole);
  // staging has no notebook.
  if (hasNotebook) it('the notebook role reads the data lake and writes its own folder, never the served models, the code or the jobs\' output', async () => {
    const pointer = await seeded;
    const artifacts = await jobArtifacts();
    expectAccess(
      role(notebookRole),
      [get(row), put(`s3://${modelBucket}/notebook/jobs/model.tar.gz`), get(pointer.modelDataUrl)],
      [put(pointer.modelDataUrl), put(pointer.featuresUrl), put(artifacts.served), put(artifacts.model), put(settings.sourceDirS3Uri), put(row)],
    );
  });
});
