import { describe, expect, it } from 'vitest';
import { patternsIntersect, referenceProblems } from './iam-reference.ts';
import type { PolicyStatement } from './template-roles.ts';

const USERS = 'arn:aws:iam::123456789012:user/*';
const PRODUCT = 'arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default';
const HUB = 'arn:aws:securityhub:us-east-1:123456789012:hub/default';

const policy = (statement: Omit<PolicyStatement, 'Effect'>) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow' as const, ...statement }],
});

describe('patternsIntersect', () => {
  it.each([
    {
      resource: USERS,
      reference: `arn:\${Partition}:iam::\${Account}:user/\${UserNameWithPath}`,
      meets: true,
    },
    {
      resource: 'arn:aws:iam::123456789012:role/x',
      reference: `arn:\${Partition}:iam::\${Account}:user/\${U}`,
      meets: false,
    },
    {
      resource: 'arn:aws:logs:us-east-1:1:log-group:g:*',
      reference: `arn:\${Partition}:logs:\${Region}:\${Account}:log-group:\${G}:log-stream:\${S}`,
      meets: true,
    },
    {
      resource: 'arn:aws:logs:us-east-1:1:log-group:g',
      reference: `arn:\${Partition}:logs:\${Region}:\${Account}:log-group:\${G}:log-stream:\${S}`,
      meets: false,
    },
  ])('$resource and $reference: $meets', ({ resource, reference, meets }) => {
    expect(patternsIntersect(resource, reference)).toBe(meets);
  });
});

describe('referenceProblems', () => {
  it.each<{ why: string; statement: Omit<PolicyStatement, 'Effect'>; problems: number }>([
    {
      why: 'an existing action on its resource type',
      statement: { Action: 'iam:GetUser', Resource: USERS },
      problems: 0,
    },
    {
      why: 'an action IAM does not have',
      statement: { Action: 'iam:GetUsers', Resource: USERS },
      problems: 1,
    },
    {
      why: 'the product for BatchImportFindings',
      statement: { Action: 'securityhub:BatchImportFindings', Resource: PRODUCT },
      problems: 0,
    },
    {
      why: 'the hub for BatchImportFindings',
      statement: { Action: 'securityhub:BatchImportFindings', Resource: HUB },
      problems: 1,
    },
    {
      why: '"*" for an action with no resource type',
      statement: { Action: 'iam:ListUsers', Resource: '*' },
      problems: 0,
    },
    {
      why: '"*" for an action that takes users',
      statement: { Action: 'iam:GetUser', Resource: '*' },
      problems: 1,
    },
    {
      why: 'an ARN for an action that takes none',
      statement: { Action: 'iam:ListUsers', Resource: USERS },
      problems: 1,
    },
    {
      why: 'a global condition key',
      statement: {
        Action: 'sts:AssumeRole',
        Resource: 'arn:aws:iam::*:role/R',
        Condition: { StringEquals: { 'aws:ResourceOrgID': 'o-1' } },
      },
      problems: 0,
    },
    {
      why: 'a key of another service',
      statement: {
        Action: 'iam:GetUser',
        Resource: USERS,
        Condition: { StringEquals: { 'sts:ExternalId': 'x' } },
      },
      problems: 1,
    },
    {
      why: 'the action’s own key',
      statement: {
        Action: 'iam:TagUser',
        Resource: USERS,
        Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['k'] } },
      },
      problems: 0,
    },
  ])('$why: $problems problem(s)', async ({ statement, problems }) => {
    expect(await referenceProblems(policy(statement), 'identity')).toHaveLength(problems);
  });
});
