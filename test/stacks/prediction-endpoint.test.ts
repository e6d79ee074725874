import { Testing } from 'cdktf';
import { PredictionEndpoint, type PredictionEndpointProps } from '../../stacks/prediction-endpoint';
import { ACCOUNT, KMS_KEY_ARN, REGION, only, policyStatements, resources, synth, wildcardActions } from './construct-synth';

const base: PredictionEndpointProps = {
  namePrefix: 'deploy-guard-dev',
  region: REGION,
  accountId: ACCOUNT,
  modelArtifact: { bucketName: 'dg-models', key: 'models/initial/model.tar.gz' },
  kmsKeyArn: KMS_KEY_ARN,
  hosting: { kind: 'serverless', memorySizeInMb: 2048, maxConcurrency: 5 },
};
const provisioned: PredictionEndpointProps = {
  ...base,
  hosting: { kind: 'provisioned', instanceType: 'ml.m5.large', initialInstanceCount: 2 },
  dataCapture: { bucketName: 'dg-data', keyPrefix: 'capture/', samplingPercentage: 25 },
  autoscaling: { minCapacity: 1, maxCapacity: 4, invocationsPerInstance: 200 },
};

describe('PredictionEndpoint, serverless', () => {
  const synthesized = synth((scope) => void new PredictionEndpoint(scope, 'endpoint', base));

  it('serves the model artifact with the region\'s sagemaker-xgboost:1.7-1 image', () => {
    expect(only(synthesized, 'aws_sagemaker_model').primary_container).toEqual({
      image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
      model_data_url: 's3://dg-models/models/initial/model.tar.gz',
      mode: 'SingleModel',
    });
  });

  it('hosts one serverless variant with the given memory and concurrency, and no autoscaling', () => {
    const configuration = only(synthesized, 'aws_sagemaker_endpoint_configuration');
    expect(configuration.production_variants).toEqual([
      expect.objectContaining({ variant_name: 'AllTraffic', serverless_config: { memory_size_in_mb: 2048, max_concurrency: 5 } }),
    ]);
    expect(configuration.kms_key_arn).toBeUndefined();
    expect(configuration.data_capture_config).toBeUndefined();
    expect(resources(synthesized, 'aws_appautoscaling_target')).toEqual({});
    expect(resources(synthesized, 'aws_appautoscaling_policy')).toEqual({});
  });

  it('updates blue/green all at once, with a termination wait, rolling back on the 5XX and latency alarms it creates', () => {
    const endpoint = only(synthesized, 'aws_sagemaker_endpoint');
    expect(endpoint.name).toBe('deploy-guard-dev-risk');
    expect(endpoint.deployment_config).toEqual({
      blue_green_update_policy: { traffic_routing_configuration: { type: 'ALL_AT_ONCE', wait_interval_in_seconds: 0 }, termination_wait_in_seconds: 600 },
      auto_rollback_configuration: { alarms: [{ alarm_name: expect.stringContaining('aws_cloudwatch_metric_alarm.endpoint_errors-alarm') }, { alarm_name: expect.stringContaining('aws_cloudwatch_metric_alarm.endpoint_latency-alarm') }] },
    });
    expect(endpoint.lifecycle).toEqual({ ignore_changes: ['endpoint_config_name'] });
    expect(Testing.toHaveResourceWithProperties(synthesized.text, 'aws_cloudwatch_metric_alarm', {
      alarm_name: 'deploy-guard-dev-endpoint-5xx', namespace: 'AWS/SageMaker', metric_name: 'Invocation5XXErrors', dimensions: { EndpointName: 'deploy-guard-dev-risk', VariantName: 'AllTraffic' }, threshold: 1,
    })).toBe(true);
    expect(Testing.toHaveResourceWithProperties(synthesized.text, 'aws_cloudwatch_metric_alarm', {
      alarm_name: 'deploy-guard-dev-endpoint-latency', metric_name: 'ModelLatency', threshold: 1_000_000,
    })).toBe(true);
  });

  it('lets the execution role read only the artifact folder and pull only the XGBoost repository', () => {
    const statements = policyStatements(synthesized, 'prediction-endpoint');
    expect(statements).toEqual([
      { Sid: 'ReadModelArtifacts', Effect: 'Allow', Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::dg-models/models/initial/*' },
      { Sid: 'DecryptModelArtifacts', Effect: 'Allow', Action: ['kms:Decrypt'], Resource: KMS_KEY_ARN },
      { Sid: 'PullImage', Effect: 'Allow', Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], Resource: 'arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost' },
      { Sid: 'EcrAuthorizationToken', Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: '*' },
      {
        Sid: 'EndpointLogs', Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: ['arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/deploy-guard-dev-risk', 'arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/deploy-guard-dev-risk:log-stream:*'],
      },
    ]);
    expect(wildcardActions(statements)).toEqual(['ecr:GetAuthorizationToken']);
    expect(JSON.parse(only(synthesized, 'aws_iam_role').assume_role_policy as string).Statement[0].Principal).toEqual({ Service: 'sagemaker.amazonaws.com' });
  });
});

describe('PredictionEndpoint, provisioned', () => {
  const synthesized = synth((scope) => void new PredictionEndpoint(scope, 'endpoint', provisioned));

  it('hosts instances on a KMS-encrypted volume and captures requests and responses to S3 with the key', () => {
    const configuration = only(synthesized, 'aws_sagemaker_endpoint_configuration');
    expect(configuration.production_variants).toEqual([expect.objectContaining({ variant_name: 'AllTraffic', instance_type: 'ml.m5.large', initial_instance_count: 2 })]);
    expect(configuration.kms_key_arn).toBe(KMS_KEY_ARN);
    expect(configuration.data_capture_config).toEqual({
      enable_capture: true,
      initial_sampling_percentage: 25,
      destination_s3_uri: 's3://dg-data/capture/',
      kms_key_id: KMS_KEY_ARN,
      capture_options: [{ capture_mode: 'Input' }, { capture_mode: 'Output' }],
      capture_content_type_header: { csv_content_types: ['text/csv'] },
    });
    expect(policyStatements(synthesized, 'prediction-endpoint')).toContainEqual({ Sid: 'WriteCapturedData', Effect: 'Allow', Action: ['s3:PutObject'], Resource: 'arn:aws:s3:::dg-data/capture/*' });
  });

  it('scales the variant on SageMakerVariantInvocationsPerInstance', () => {
    expect(only(synthesized, 'aws_appautoscaling_target')).toEqual(expect.objectContaining({
      service_namespace: 'sagemaker', scalable_dimension: 'sagemaker:variant:DesiredInstanceCount', resource_id: 'endpoint/deploy-guard-dev-risk/variant/AllTraffic', min_capacity: 1, max_capacity: 4,
    }));
    const policy = only(synthesized, 'aws_appautoscaling_policy');
    expect(policy.policy_type).toBe('TargetTrackingScaling');
    expect(policy.target_tracking_scaling_policy_configuration).toEqual({
      predefined_metric_specification: { predefined_metric_type: 'SageMakerVariantInvocationsPerInstance' }, target_value: 200, scale_in_cooldown: 300, scale_out_cooldown: 60,
    });
  });

  it('leaves the volume key off for instance types with local storage when asked', () => {
    const local = synth((scope) => void new PredictionEndpoint(scope, 'endpoint', { ...base, hosting: { kind: 'provisioned', instanceType: 'ml.m5d.large', initialInstanceCount: 1, encryptVolume: false } }));
    expect(only(local, 'aws_sagemaker_endpoint_configuration').kms_key_arn).toBeUndefined();
  });
});

describe('PredictionEndpoint props', () => {
  it.each<[string, Partial<PredictionEndpointProps>, string]>([
    ['autoscaling with serverless', { autoscaling: { minCapacity: 1, maxCapacity: 2, invocationsPerInstance: 10 } }, 'PredictionEndpoint autoscaling needs provisioned hosting: a serverless endpoint scales by itself (set hosting.maxConcurrency instead)'],
    ['data capture with serverless', { dataCapture: { bucketName: 'b', keyPrefix: 'capture/' } }, 'PredictionEndpoint dataCapture needs provisioned hosting: serverless endpoints do not support data capture'],
    ['serverless memory not a multiple of 1024', { hosting: { kind: 'serverless', memorySizeInMb: 1500, maxConcurrency: 1 } }, 'PredictionEndpoint hosting.memorySizeInMb must be 1024, 2048, 3072, 4096, 5120 or 6144, got 1500'],
    ['serverless concurrency over 200', { hosting: { kind: 'serverless', memorySizeInMb: 1024, maxConcurrency: 201 } }, 'PredictionEndpoint hosting.maxConcurrency must be an integer from 1 to 200, got 201'],
    ['a bad instance type', { hosting: { kind: 'provisioned', instanceType: 'm5.large', initialInstanceCount: 1 } }, "PredictionEndpoint hosting.instanceType must look like 'ml.m5.large', got 'm5.large'"],
    ['max below min capacity', { hosting: { kind: 'provisioned', instanceType: 'ml.m5.large', initialInstanceCount: 1 }, autoscaling: { minCapacity: 3, maxCapacity: 2, invocationsPerInstance: 10 } }, 'PredictionEndpoint autoscaling.maxCapacity (2) is below autoscaling.minCapacity (3)'],
    ['initial count outside the scaling range', { hosting: { kind: 'provisioned', instanceType: 'ml.m5.large', initialInstanceCount: 5 }, autoscaling: { minCapacity: 1, maxCapacity: 2, invocationsPerInstance: 10 } }, 'PredictionEndpoint hosting.initialInstanceCount (5) must be within autoscaling.minCapacity..maxCapacity (1..2)'],
    ['a capture prefix without a trailing slash', { hosting: { kind: 'provisioned', instanceType: 'ml.m5.large', initialInstanceCount: 1 }, dataCapture: { bucketName: 'b', keyPrefix: 'capture' } }, "PredictionEndpoint dataCapture.keyPrefix 'capture' must be a literal S3 key prefix ending with '/', without a leading '/'"],
    ['an artifact that is not a .tar.gz', { modelArtifact: { bucketName: 'b', key: 'models/xgboost-model' } }, "PredictionEndpoint modelArtifact.key 'models/xgboost-model' must be the key of a .tar.gz (e.g. models/initial/model.tar.gz), without a leading '/'"],
    ['an artifact outside its prefix', { modelArtifactPrefix: 'models/served/' }, "PredictionEndpoint modelArtifact.key 'models/initial/model.tar.gz' is not under modelArtifactPrefix 'models/served/'"],
    ['a region without the image', { region: 'xx-nowhere-1' }, "no sagemaker-xgboost:1.7-1 image is known for region 'xx-nowhere-1'"],
    ['a key that is not a KMS ARN', { kmsKeyArn: 'alias/dg' }, "PredictionEndpoint kmsKeyArn must be an ARN of service kms (arn:<partition>:kms:...), got 'alias/dg'"],
    ['an account id that is not 12 digits', { accountId: '1234' }, "PredictionEndpoint accountId must be 12 digits, got '1234'"],
  ])('rejects %s', (_case, override, message) => {
    expect(() => synth((scope) => void new PredictionEndpoint(scope, 'endpoint', { ...base, ...override }))).toThrow(message);
  });
});
