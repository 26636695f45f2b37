#!/usr/bin/env node
/** The CDK app: one stack, configured from context (cdk.json, or -c key=value), checked by cdk-nag. */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../lambda/core/errors';
import { defaultOf } from '../lambda/core/settings';
import { propsFromContext } from '../lib/context';
import { EsimExportStack } from '../lib/esim-export-stack';

const app = new App();
try {
  const { stackName, ...props } = propsFromContext(app.node);
  new EsimExportStack(app, stackName ?? defaultOf('stackName'), {
    ...props,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
} catch (error) {
  // A bad context value is the user's to fix: one line naming it, no stack trace.
  if (!(error instanceof ConfigError)) throw error;
  console.error(`esim-export: ${error.message}`);
  process.exit(1);
}
// Synthesis fails on any AwsSolutions finding that is not acknowledged with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
