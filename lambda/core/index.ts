/**
 * The core's one entry for its runtime edges: the Lambda handler and its step runner
 * (lambda/*.ts) and the CLI (cli/). They import the core from here only (the architecture test
 * checks it); the CDK app (lib/) reads the light modules it needs directly (settings, columns,
 * filters), so a synth loads no encoder and no SDK client.
 */
export type { Credentials } from './api/betatel-client';
export { credentialsFromEnvironment, credentialsFromSecretsManager } from './api/credentials';
export { createS3Client } from './aws';
export { type Destination, openDestination, S3Destination } from './destinations';
export { AnnouncementFailedError, asExportError, ConfigError, ExportAbortedError, ExportError } from './errors';
export type { ExportContext, ExportProgress, Tuning } from './export';
export { type Filters, SCOPE_PATTERN } from './filters';
export { FORMATS } from './formats/names';
export { type CheckLine, checkText, runCheck } from './run/check';
export { beginStagedRun, continueRun, discardRun, publishRun, runExport, stagedRun } from './run/lifecycle';
export type { RunCheckpoint } from './run/store';
export {
  dateIn,
  defaultOf,
  type ExportSettings,
  exportSettings,
  filtersOf,
  type GivenSettings,
  parseTime,
  readSettings,
  SETTINGS,
  settingNames,
  settingsHelp,
} from './settings';
export { FULL_SCOPE, manifestKey, type RunsLayout, runsLayout, scopeFolder } from './snapshot/layout';
export { type Manifest, readManifest, TOOL } from './snapshot/manifest';
