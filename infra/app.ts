#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackPropsFromContext } from './context.ts';
import { KeyWardenStack } from './keywarden-stack.ts';

const app = new App();
new KeyWardenStack(
  app,
  'KeyWarden',
  stackPropsFromContext((key) => app.node.tryGetContext(key), process.env),
);
// Every synth is checked: an unsuppressed AwsSolutions finding fails `cdk synth`.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
