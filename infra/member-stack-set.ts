import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, BootstraplessSynthesizer, type StackProps } from 'aws-cdk-lib';
import * as cloudformation from 'aws-cdk-lib/aws-cloudformation';
import { Construct } from 'constructs';
import { SettingError } from './errors.ts';
import {
  KeyWardenMemberStack,
  type KeyWardenMemberStackProps,
  MEMBER_STACK_PARAMETERS,
} from './member-stack.ts';
import { validateAccountId, validateOrganizationalUnit } from './organization-settings.ts';

/** CloudFormation's limit on a template passed inline (`TemplateBody`), in bytes. */
export const MAX_TEMPLATE_BODY_BYTES = 51_200;

/** Who creates the StackSet: the management account (`SELF`) or a registered delegated administrator. */
export type StackSetCaller = 'SELF' | 'DELEGATED_ADMIN';

/** Properties of a {@link MemberStackSet}. */
export interface MemberStackSetProps {
  /** The OUs (or the root, `r-…`) whose accounts get the member stack, those that join later included. */
  readonly organizationalUnitIds: readonly string[];
  /** The region the stack instances go to: where the partition's IAM events arrive. */
  readonly region: string;
  /** Values of the member stack's parameters, by {@link MEMBER_STACK_PARAMETERS} key. */
  readonly parameters: Readonly<Record<keyof typeof MEMBER_STACK_PARAMETERS, string>>;
  /** The member template's settings (role name, remediation mode, alarm address, restore role). */
  readonly member?: Omit<KeyWardenMemberStackProps, keyof StackProps>;
  /**
   * Only these accounts of the OUs (`INTERSECTION`), e.g. the detector's allow-list. An empty list is a setting
   * error, not "every account".
   * @default - every account of the OUs
   */
  readonly accountIds?: readonly string[];
  /**
   * Accounts of the OUs left out (`DIFFERENCE`), e.g. the central account, whose own events already reach the
   * detector on its default bus. Ignored when {@link accountIds} is set.
   * @default - none
   */
  readonly excludedAccountIds?: readonly string[];
  /**
   * `SELF` from the management account, `DELEGATED_ADMIN` from an account registered as the StackSets delegated
   * administrator. A token (an `Fn::If`) is allowed.
   * @default 'DELEGATED_ADMIN'
   */
  readonly callAs?: string;
  /**
   * Name of the StackSet.
   * @default 'KeyWarden-Member'
   */
  readonly stackSetName?: string;
}

/**
 * A service-managed StackSet that deploys {@link KeyWardenMemberStack} to every account of the given OUs, and to
 * accounts that join them later (auto-deployment; a stack is deleted when its account leaves). The member
 * template is synthesized here, in an app of its own, and travels inline: it has no asset and needs no bootstrap
 * in the members. StackSets never deploy to the management account: deploy the member stack there by hand.
 */
export class MemberStackSet extends Construct {
  readonly stackSet: cloudformation.CfnStackSet;
  /** The member template, as the StackSet carries it (minified JSON). */
  readonly templateBody: string;
  /** The stack the template was synthesized from, in an app of its own (for inspection, e.g. cdk-nag). */
  readonly memberStack: KeyWardenMemberStack;

  constructor(scope: Construct, id: string, props: MemberStackSetProps) {
    super(scope, id);
    if (props.organizationalUnitIds.length === 0) {
      throw new SettingError(
        'organizationalUnitIds is empty; name at least one OU (or the root) to deploy to',
      );
    }
    props.organizationalUnitIds.forEach((ou, index) => {
      validateOrganizationalUnit(`organizationalUnitIds[${index}]`, ou);
    });
    if (props.accountIds !== undefined && props.accountIds.length === 0) {
      throw new SettingError(
        'accountIds is empty; name at least one account, or leave accountIds out to deploy to every account of the OUs',
      );
    }
    props.accountIds?.forEach((account, index) => {
      validateAccountId(`accountIds[${index}]`, account);
    });

    const member = synthesizeMemberTemplate(props.member ?? {});
    this.memberStack = member.stack;
    this.templateBody = member.templateBody;
    const bytes = Buffer.byteLength(this.templateBody, 'utf8');
    if (bytes > MAX_TEMPLATE_BODY_BYTES) {
      throw new SettingError(
        `the member template is ${bytes} bytes, more than the ${MAX_TEMPLATE_BODY_BYTES} CloudFormation takes inline`,
      );
    }

    const filter =
      props.accountIds !== undefined
        ? { accountFilterType: 'INTERSECTION', accounts: [...props.accountIds] }
        : props.excludedAccountIds !== undefined && props.excludedAccountIds.length > 0
          ? { accountFilterType: 'DIFFERENCE', accounts: [...props.excludedAccountIds] }
          : {};
    const parameterKeys = Object.keys(MEMBER_STACK_PARAMETERS) as (keyof typeof MEMBER_STACK_PARAMETERS)[];
    this.stackSet = new cloudformation.CfnStackSet(this, 'StackSet', {
      stackSetName: props.stackSetName ?? 'KeyWarden-Member',
      description:
        'KeyWarden member: forwards IAM access-key events to the central account and lets it check this one',
      permissionModel: 'SERVICE_MANAGED',
      callAs: props.callAs ?? 'DELEGATED_ADMIN',
      // The member role has a fixed name (the central functions assume it by name).
      capabilities: ['CAPABILITY_NAMED_IAM'],
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      // Lets CloudFormation queue operations instead of refusing one while another runs.
      managedExecution: { Active: true },
      operationPreferences: {
        regionConcurrencyType: 'PARALLEL',
        // One account that fails (a role name already taken, an SCP) does not stop the roll-out to the others.
        concurrencyMode: 'SOFT_FAILURE_TOLERANCE',
        maxConcurrentPercentage: 25,
        failureTolerancePercentage: 10,
      },
      parameters: parameterKeys.map((key) => ({
        parameterKey: MEMBER_STACK_PARAMETERS[key],
        parameterValue: props.parameters[key],
      })),
      stackInstancesGroup: [
        {
          regions: [props.region],
          deploymentTargets: { organizationalUnitIds: [...props.organizationalUnitIds], ...filter },
        },
      ],
      templateBody: this.templateBody,
    });
  }
}

/**
 * The member stack's template as minified JSON, synthesized in an app of its own (in a temporary directory, so the
 * app being synthesized keeps its output directory to itself). No bootstrap: the synthesizer refuses any asset.
 */
export function synthesizeMemberTemplate(props: KeyWardenMemberStackProps): {
  readonly stack: KeyWardenMemberStack;
  readonly templateBody: string;
} {
  const outdir = mkdtempSync(path.join(tmpdir(), 'keywarden-member-'));
  try {
    const app = new App({ outdir, analyticsReporting: false, stackTraces: false, autoSynth: false });
    const stack = new KeyWardenMemberStack(app, 'KeyWardenMember', {
      ...props,
      synthesizer: new BootstraplessSynthesizer(),
    });
    const assembly = app.synth();
    return { stack, templateBody: JSON.stringify(assembly.getStackArtifact(stack.artifactId).template) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
