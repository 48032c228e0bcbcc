#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackPropsFromContext } from './context.ts';
import { SettingError } from './errors.ts';
import { KeyWardenStack } from './keywarden-stack.ts';

const app = new App();
try {
  new KeyWardenStack(
    app,
    'KeyWarden',
    stackPropsFromContext((key) => app.node.tryGetContext(key), process.env),
  );
} catch (error) {
  // A bad setting is the user's to fix: say which and why, without a stack trace of CDK internals.
  if (!(error instanceof SettingError)) throw error;
  process.stderr.write(`keywarden: ${error.message}\n`);
  process.exit(1);
}
// Every synth is checked: an unsuppressed AwsSolutions finding fails `cdk synth`.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
