#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { KeyWardenCentralStack, memberSettings } from './central-stack.ts';
import { type ContextKey, organizationFromContext, stackPropsFromContext } from './context.ts';
import { SettingError } from './errors.ts';
import { KeyWardenStack } from './keywarden-stack.ts';
import { KeyWardenManagementStack } from './management-stack.ts';
import { KeyWardenMemberStack } from './member-stack.ts';
import { iamEventRegionToken } from './partition.ts';

const app = new App();
try {
  const lookup = (key: ContextKey): unknown => app.node.tryGetContext(key);
  const props = stackPropsFromContext(lookup, process.env);
  const organization = organizationFromContext(lookup);
  if (organization === undefined) {
    new KeyWardenStack(app, 'KeyWarden', props);
  } else {
    const central = new KeyWardenCentralStack(app, 'KeyWarden', { ...props, organization });
    // For the management account (StackSets never deploy there) and for a roll-out by other means: in the IAM
    // event region of the central stack's partition, or environment-agnostic when that is unknown at synth.
    const iamRegion = iamEventRegionToken(central);
    const managementEnv =
      props.env === undefined || iamRegion === undefined
        ? undefined
        : { account: organization.managementAccountId, region: iamRegion };
    new KeyWardenMemberStack(app, 'KeyWarden-Member', {
      env: managementEnv,
      ...memberSettings(organization, props.detector),
    });
    if (organization.managementAccountId !== undefined) {
      new KeyWardenManagementStack(app, 'KeyWarden-Management', { env: managementEnv });
    }
  }
} catch (error) {
  // A bad setting is the user's to fix: say which and why, without a stack trace of CDK internals.
  if (!(error instanceof SettingError)) throw error;
  settingErrorExit([error.message]);
}
// Constructs report a bad prop as a synth error (`cdk synth` would print `[Error at …]` after synthesizing): say it
// here before any synth work, as a context value's error is said.
const reported = app.node
  .findAll()
  .flatMap((construct) => construct.node.metadata)
  .filter((entry) => entry.type === 'aws:cdk:error')
  .map((entry) => String(entry.data));
if (reported.length > 0) settingErrorExit(reported);

function settingErrorExit(messages: readonly string[]): never {
  for (const message of messages) process.stderr.write(`keywarden: ${message}\n`);
  process.exit(1);
}
// Every synth is checked: an unsuppressed AwsSolutions finding fails `cdk synth`.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
