import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/shared/constants.ts';
import { removeTestApps, type SynthesizedVariant, synthesizeVariant } from './synth.ts';

const ORGANIZATION_ID = 'o-a1b2c3d4e5';
let single: SynthesizedVariant;
let central: SynthesizedVariant;

beforeAll(() => {
  single = synthesizeVariant({ env: { region: 'us-east-1' } });
  central = synthesizeVariant({
    env: { region: 'us-east-1' },
    detector: {
      organization: {
        organizationId: ORGANIZATION_ID,
        memberRoleName: 'KeyWardenMember',
        memberAccountIds: ['111122223333', '444455556666'],
      },
    },
  });
});

afterAll(removeTestApps);

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

function statementsOf(variant: SynthesizedVariant, roleFragment: string): Statement[] {
  const policies = variant.template.findResources('AWS::IAM::Policy');
  return Object.entries(policies)
    .filter(([id]) => id.includes(roleFragment))
    .flatMap(([, policy]) => (policy.Properties.PolicyDocument.Statement as Statement[]) ?? []);
}

describe('AccessKeyDetector organization access', () => {
  it('lets the detector assume only role/<memberRoleName>, only in the organization', () => {
    const assume = statementsOf(central, 'DetectorRole').filter((s) => s.Action === 'sts:AssumeRole');
    expect(assume).toEqual([
      {
        Sid: 'AssumeMemberRole',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::*:role/KeyWardenMember']] },
        Condition: { StringEquals: { 'aws:ResourceOrgID': ORGANIZATION_ID } },
      },
    ]);
  });

  it('grants no sts:AssumeRole in single-account mode', () => {
    for (const role of ['DetectorRole', 'SweepRole']) {
      expect(statementsOf(single, role).filter((s) => JSON.stringify(s.Action).includes('sts:'))).toEqual([]);
    }
  });

  it('passes the member role name and the allow-list to the functions', () => {
    central.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          [ENV.memberRoleName]: 'KeyWardenMember',
          [ENV.memberAccountIds]: '111122223333,444455556666',
        },
      },
    });
  });
});
