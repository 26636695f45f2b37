/**
 * The stack's props from CDK context (`cdk.json`, or `npx cdk deploy -c key=value`), read by the
 * one settings table (lambda/core/settings/table.ts) the CLI and the function use: the same
 * parsers, limits and messages, each naming the context key. A key this app does not know is
 * an error, not silently ignored.
 */
import type { Node } from 'constructs';
import leven from 'leven';
import { ConfigError } from '../lambda/core/errors';
import { checkDeployment, namedBy, readSettings, settingLabel, settingNames } from '../lambda/core/settings';
import type { EsimExportStackProps } from './esim-export-stack';

/** Every context key this app reads. */
const CONTEXT_KEYS: readonly string[] = settingNames('context');

export function propsFromContext(node: Node): EsimExportStackProps & { stackName?: string } {
  const context = node.getAllContext() as Record<string, unknown>;
  // Keys of our own are plain words; CDK's feature flags and tools' keys hold '/', ':' or '-'.
  for (const key of Object.keys(context).filter((k) => /^[A-Za-z][A-Za-z0-9]*$/.test(k))) {
    if (CONTEXT_KEYS.includes(key)) continue;
    const suggestion = closestName(key, CONTEXT_KEYS);
    throw new ConfigError(`${settingLabel('context', key)} is not a setting of this app${suggestion ? ` (did you mean ${suggestion}?)` : ''}`);
  }
  const given = readSettings('context', context);
  checkDeployment(given);
  // Every setting's context key is the construct's prop of the same name.
  return namedBy('context', given);
}

/**
 * The close match of a misspelled name among `known`, for "did you mean …" (leven: the edit
 * distance, a well-used library rather than our own loop).
 */
function closestName(name: string, known: readonly string[]): string | undefined {
  const plain = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]/g, '');
  return known.find((candidate) => plain(candidate) === plain(name)) ?? known.find((candidate) => leven(plain(candidate), plain(name)) <= 2);
}
