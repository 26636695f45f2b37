#!/usr/bin/env node
/** The CDK app: one stack, configured from context (cdk.json, or -c key=value), checked by cdk-nag. */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { propsFromContext } from '../lib/context';
import { EsimExportStack } from '../lib/esim-export-stack';

const app = new App();
new EsimExportStack(app, app.node.tryGetContext('stackName') ?? 'EsimExport', {
  ...propsFromContext(app.node),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
// Synthesis fails on any AwsSolutions finding that is not acknowledged with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
