import { Aws, CfnOutput, CfnParameter, Duration, Fn, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { DEFAULT_ORGANIZATION_READER_ROLE_NAME, validateRoleName } from './organization-settings.ts';

/** Properties of a {@link KeyWardenManagementStack}. */
export interface KeyWardenManagementStackProps extends StackProps {
  /**
   * Name of the read-only role; the central stack builds its ARN from this name and the management account.
   * @default 'KeyWardenOrganizationReader'
   */
  readonly roleName?: string;
}

/**
 * For the organization's management account: a role that may only list the organization's accounts
 * (`organizations:ListAccounts`, and under the member OUs `ListAccountsForParent` and
 * `ListOrganizationalUnitsForParent`), which only the central sweep's role may assume. The central sweep's role ARN
 * is the `SweepRoleArn` parameter (the central stack's output of that name). Deploy the member stack there too:
 * StackSets never deploy to the management account.
 */
export class KeyWardenManagementStack extends Stack {
  readonly organizationReaderRole: iam.Role;

  constructor(scope: Construct, id: string, props: KeyWardenManagementStackProps = {}) {
    super(scope, id, {
      description: 'KeyWarden management: a read-only role that lists the accounts of the organization',
      ...props,
    });
    const roleName = props.roleName ?? DEFAULT_ORGANIZATION_READER_ROLE_NAME;
    validateRoleName('roleName', roleName);
    const sweepRoleArn = new CfnParameter(this, 'SweepRoleArn', {
      type: 'String',
      description: "ARN of the central sweep's execution role (central stack output SweepRoleArn)",
      allowedPattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]{1,512}$',
      constraintDescription: 'must be an IAM role ARN',
    }).valueAsString;

    // The central account's root with aws:PrincipalArn rather than the role as principal: a role principal is
    // stored as the role's unique id, which a redeploy that replaces the role would silently orphan.
    this.organizationReaderRole = new iam.Role(this, 'OrganizationReaderRole', {
      roleName,
      description: 'KeyWarden: lets the central sweep list the accounts of the organization and its OUs',
      assumedBy: new iam.AccountPrincipal(Fn.select(4, Fn.split(':', sweepRoleArn))).withConditions({
        ArnEquals: { 'aws:PrincipalArn': sweepRoleArn },
      }),
      maxSessionDuration: Duration.hours(1),
    });
    this.organizationReaderRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListAccounts',
        // No resource-level permissions for ListAccounts (Service Authorization Reference, Organizations).
        actions: ['organizations:ListAccounts'],
        resources: ['*'],
      }),
    );
    // The walk of the member OUs' trees: their children are not known at deployment, so any OU and the root of
    // the organization this account manages (an account manages at most one).
    const organizations = `arn:${Aws.PARTITION}:organizations::${Aws.ACCOUNT_ID}`;
    this.organizationReaderRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListMemberOus',
        actions: ['organizations:ListAccountsForParent', 'organizations:ListOrganizationalUnitsForParent'],
        resources: [`${organizations}:ou/o-*/ou-*`, `${organizations}:root/o-*/r-*`],
      }),
    );
    Validations.of(this.organizationReaderRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'organizations:ListAccounts has no resource-level permissions (Service Authorization Reference, AWS Organizations), so it needs Resource "*"; it reads account ids, names and states only.',
    });
    for (const resource of ['ou/o-*/ou-*', 'root/o-*/r-*']) {
      Validations.of(this.organizationReaderRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::<AWS::AccountId>:${resource}]`,
        reason:
          'The sweep walks the member OUs and the OUs nested in them, which are not known at deployment: any OU and the root of the one organization this account manages, for two read-only listings.',
      });
    }

    new CfnOutput(this, 'OrganizationRoleArn', {
      description: 'The role the central sweep assumes to list the accounts (ORGANIZATION_ROLE_ARN)',
      value: this.organizationReaderRole.roleArn,
    });
  }
}
