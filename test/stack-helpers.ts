/**
 * Synthesizing the stack for tests: this repository's stack from context (as `cdk synth -c`
 * builds it), the construct in a stack of your own, and what tests read from the template
 * (the function role's statements, wildcard grants, cdk-nag's findings).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EsimExport, type EsimExportProps } from '../lib';
import { propsFromContext } from '../lib/context';
import { EsimExportStack } from '../lib/esim-export-stack';

export const projectContext = (JSON.parse(readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
export const ENV = { account: '123456789012', region: 'eu-west-1' };

export type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown; Effect: string };

/**
 * An app whose stacks synthesize without bundling the function (CDK's bundling-stacks context
 * left empty): a synth takes a fraction of a second rather than an esbuild run. The tests of the
 * bundle itself bundle it (stack.test.ts, bundle.test.ts).
 */
export const testApp = (context: Record<string, unknown> = {}): App => new App({ context: { ...context, [cxapi.BUNDLING_STACKS]: [] } });

/** This repository's stack from context, as `cdk synth -c key=value` builds it. */
export function fromContext(context: Record<string, unknown>): Stack {
  const app = testApp({ ...projectContext, ...context });
  return new EsimExportStack(app, 'EsimExport', { ...propsFromContext(app.node), env: ENV });
}

/** This repository's stack from context, and its template. */
export function synth(context: Record<string, unknown> = {}): { stack: Stack; template: Template } {
  const stack = fromContext(context);
  return { stack, template: Template.fromStack(stack) };
}

/** The construct in a stack of your own, given objects. */
export function inYourStack(props: (stack: Stack) => EsimExportProps): Stack {
  const app = testApp();
  const stack = new Stack(app, 'Lake', { env: ENV });
  new EsimExport(stack, 'Esims', props(stack));
  return stack;
}

/** The statements of the function's role, in order, each one's actions sorted. */
export function functionStatements(stack: Stack): Statement[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('FunctionRole') }] } });
  return Object.values(policies)
    .flatMap((policy) => (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement)
    .map((statement) => ({ ...statement, Action: Array.isArray(statement.Action) ? [...statement.Action].sort() : statement.Action }));
}

/**
 * Every wildcard of every role's statements: the services granted and the wildcard's tail
 * (`/esims/*` under a bucket, `:*` after a function, `*`), whichever bucket or function it is.
 */
export function wildcardGrants(stack: Stack): string[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  const statements = Object.values(policies).flatMap((policy) => (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
  return statements
    .flatMap((statement) => {
      const resources = [statement.Resource].flat().map((resource) => (typeof resource === 'string' ? resource : JSON.stringify(Stack.of(stack).resolve(resource))));
      const services = new Set([statement.Action].flat().map((action) => action.split(':')[0]));
      const tails = resources.flatMap((resource) => (resource.split('"').find((part) => part.includes('*')) ?? '').replace(/^[^/]*(?=\/)/, '') || []);
      return [...services].flatMap((service) => tails.map((tail) => `${service} ${tail}`));
    })
    .filter((grant, index, all) => all.indexOf(grant) === index)
    .sort();
}

export function nagErrors(stack: Stack): string[] {
  const report = new AwsSolutionsChecks(stack).validateScope(stack);
  return report.violations.flatMap((violation) => violation.violatingResources.map((resource) => `${violation.ruleName} ${resource.constructPath ?? resource.resourceLogicalId}`));
}

export const functionEnvironment = (stack: Stack): Record<string, unknown> =>
  (Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0] as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;

