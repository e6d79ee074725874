import registry from './xgboost-image-uris.json';

/**
 * The built-in SageMaker XGBoost 1.7-1 image (training and inference use the same image) per region,
 * from the registry accounts in xgboost-image-uris.json (copied, with its origin, from the
 * SageMaker Python SDK's image URI config). Also the partition and DNS suffix of a region, which
 * ARNs and ECR host names need: computed, never looked up, so nothing needs AWS to synthesize.
 */

export const XGBOOST_REPOSITORY = registry.repository;
export const XGBOOST_TAG = registry.tag;
const REGISTRIES: Readonly<Record<string, string>> = registry.registries;

/** Regions whose sagemaker-xgboost:1.7-1 registry is known, sorted. */
export function xgboostRegions(): string[] {
  return Object.keys(REGISTRIES).sort();
}

/** The AWS partition of a region: `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, `aws-iso-b` or `aws-iso-f`. */
export function awsPartition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  return 'aws';
}

/** The DNS suffix of a region's service endpoints (botocore's partition data). */
export function awsDnsSuffix(region: string): string {
  switch (awsPartition(region)) {
    case 'aws-cn':
      return 'amazonaws.com.cn';
    case 'aws-iso':
      return 'c2s.ic.gov';
    case 'aws-iso-b':
      return 'sc2s.sgov.gov';
    case 'aws-iso-f':
      return 'csp.hci.ic.gov';
    default:
      return 'amazonaws.com';
  }
}

/** The registry account of the built-in XGBoost image in a region; throws, naming the region, when unknown. */
export function xgboostRegistryAccount(region: string): string {
  const account = Object.prototype.hasOwnProperty.call(REGISTRIES, region) ? REGISTRIES[region] : undefined;
  if (!account) {
    throw new Error(`no sagemaker-xgboost:1.7-1 image is known for region '${region}' (stacks/xgboost-image-uris.json lists ${xgboostRegions().length} regions: ${xgboostRegions().join(', ')})`);
  }
  return account;
}

/** `<account>.dkr.ecr.<region>.<dns suffix>/sagemaker-xgboost:1.7-1` of a region. */
export function xgboostImageUri(region: string): string {
  return `${xgboostRegistryAccount(region)}.dkr.ecr.${region}.${awsDnsSuffix(region)}/${XGBOOST_REPOSITORY}:${XGBOOST_TAG}`;
}

/** ARN of the ECR repository holding the image, for `ecr:BatchGetImage` / `ecr:GetDownloadUrlForLayer`. */
export function xgboostRepositoryArn(region: string): string {
  return `arn:${awsPartition(region)}:ecr:${region}:${xgboostRegistryAccount(region)}:repository/${XGBOOST_REPOSITORY}`;
}
