import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { awsPartition, xgboostImageUri, xgboostRegions, xgboostRepositoryArn } from '../../stacks/image-uris';
import registry from '../../stacks/xgboost-image-uris.json';

const SHARED = join(__dirname, '..', '..', '..', 'shared', 'data', 'xgboost-image-uris.json');

describe('xgboostImageUri', () => {
  it('derives the sagemaker-xgboost:1.7-1 image of a region from its registry account', () => {
    expect(xgboostImageUri('us-east-1')).toBe('683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1');
    expect(xgboostImageUri('eu-west-1')).toBe('141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1');
  });

  it('uses the China and ISO DNS suffixes', () => {
    expect(xgboostImageUri('cn-north-1')).toBe('450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1');
    expect(xgboostImageUri('us-iso-east-1')).toBe('833128469047.dkr.ecr.us-iso-east-1.c2s.ic.gov/sagemaker-xgboost:1.7-1');
  });

  it('names the unknown region in its error', () => {
    expect(() => xgboostImageUri('xx-nowhere-1')).toThrow(/^no sagemaker-xgboost:1\.7-1 image is known for region 'xx-nowhere-1' \(stacks\/xgboost-image-uris\.json lists 37 regions: af-south-1, /);
  });

  it('gives the repository ARN in the partition of the region', () => {
    expect(xgboostRepositoryArn('us-west-2')).toBe('arn:aws:ecr:us-west-2:246618743249:repository/sagemaker-xgboost');
    expect(xgboostRepositoryArn('cn-northwest-1')).toBe('arn:aws-cn:ecr:cn-northwest-1:451049120500:repository/sagemaker-xgboost');
    expect(awsPartition('us-gov-west-1')).toBe('aws-us-gov');
  });

  it('keeps the provenance of the copied registry', () => {
    expect(registry._origin.repository).toBe('github.com/aws/sagemaker-python-sdk');
    expect(registry._origin.copied_from).toContain('xgboost-image-uris.json');
  });

  (existsSync(SHARED) ? it : it.skip)('equals every 1.7-1 URI of the shared research data (../shared/data)', () => {
    const shared = JSON.parse(readFileSync(SHARED, 'utf8')) as { xgboost_1_7_1_registries: Record<string, string>; xgboost_1_7_1_uris: Record<string, string> };
    expect(xgboostRegions()).toEqual(Object.keys(shared.xgboost_1_7_1_registries).sort());
    const derived = Object.fromEntries(xgboostRegions().map((region) => [region, xgboostImageUri(region)]));
    expect(derived).toEqual(shared.xgboost_1_7_1_uris);
  });
});
