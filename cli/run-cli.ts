/**
 * The CLI: flags in, one export, a summary (or the manifest as JSON) out. `esim-export check`
 * takes the same flags and checks instead (run/check.ts): exit 0 only when every line is ✓.
 *
 * Exit status: 0 only when a complete snapshot was published; 2 for a usage, settings or
 * credentials problem (nothing was requested); 1 for a failed export (nothing was published);
 * 130 when interrupted. A failure prints one line saying what failed and what to do;
 * --debug adds the stack trace.
 */
import { Command, CommanderError } from 'commander';
import { asExportError, checkText, type Credentials, credentialsFromEnvironment, credentialsFromSecretsManager, type Destination, ExportAbortedError, ExportError, exportSettings, FORMATS, FULL_SCOPE, type GivenSettings, type Manifest, openDestination, readSettings, runCheck, runExport, settingsHelp, TOOL, type Tuning } from '../lambda/core';
import { ProgressLine } from './progress';

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Aborts the export (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Retry and timeout knobs; tests shorten them. */
  readonly tuning?: Partial<Tuning>;
}

/** Flags that are not settings (those are read by core/settings.ts, by their flag names). */
interface Flags {
  out: string;
  json?: boolean;
  debug?: boolean;
}

/** The CLI's flags as --help lists them: the reference page (docs/reference.md) is made from these. */
export function cliFlags(): Array<{ flags: string; description: string; defaultValue?: unknown }> {
  const sink = { write: () => true } as unknown as NodeJS.WritableStream;
  return program({ env: {}, stdout: sink, stderr: sink }).options.map(({ flags, description, defaultValue }) => ({ flags, description, defaultValue }));
}

function program(io: CliIo): Command {
  const command = new Command('esim-export').description(`Export every eSIM of a Betatel account into dated ${FORMATS.join(', ')} snapshots (a folder or S3).`);
  command.option('--out <dest>', 'a folder, or s3://bucket/prefix', './exports');
  // Every export setting's flag, help and default come from the settings table.
  for (const { name, arg, help } of settingsHelp('flag')) command.option(arg ? `${name} ${arg}` : name, help);
  return command
    .option('--json', 'print the manifest as one JSON line on stdout')
    .option('--debug', 'on failure, print the stack trace too')
    .version(TOOL.version, '--version', 'print the version and exit')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  npx esim-export --out ./exports                       every eSIM, into a folder (credentials from the environment)\n' +
        '  npx esim-export --out s3://my-bucket/esims --json     into S3; the manifest as JSON on stdout\n' +
        '  npx esim-export --company 100 --formats csv           one company, CSV only (written under filtered/company=100/)\n' +
        '  npx esim-export --date 2026-11-27 --compression none  the snapshot of a given day, uncompressed\n' +
        '  npx esim-export --secret-id betatel-api --out ./x     credentials from a Secrets Manager secret\n' +
        '  npx esim-export check --out s3://my-bucket/esims      check the credentials, the API and the destination, export nothing\n' +
        '\nCredentials come from BETATEL_API_KEY and BETATEL_USER_ID, or from --secret-id; never from a flag.\n' +
        'S3 honours the AWS SDK environment (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_S3, ...).\n' +
        'API requests go through HTTPS_PROXY (HTTP_PROXY for http://) unless NO_PROXY names the host.\n' +
        'Exit status: 0 published, 1 failed (nothing published), 2 bad flag or credentials, 130 Ctrl-C, 143 SIGTERM.',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Commander's own usage errors ("error: unknown option …") in our one form.
      outputError: (text, write) => write(usageError(text.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' '))),
    })
    .allowExcessArguments(false);
}

/** The settings the command line gave, validated; every error names its flag. No I/O. */
function givenFlags(command: Command): GivenSettings {
  const values = command.opts();
  return readSettings('flag', Object.fromEntries(command.options.map((option) => [option.long!, values[option.attributeName()]])));
}

/** Runs the CLI; resolves to the exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const command = program(io);
  // `esim-export check [flags]`: the same flags, a check instead of an export.
  const check = argv[0] === 'check';
  let flags: Flags;
  try {
    flags = command.parse(check ? argv.slice(1) : [...argv], { from: 'user' }).opts<Flags>();
  } catch (error) {
    // Commander has already printed its one line (or the help text).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }

  let destination: Destination | undefined;
  let progress: ProgressLine | undefined;
  let answered = false;
  let waited = 0;
  try {
    const given = givenFlags(command);
    const settings = exportSettings(given, { dateLabel: '--date' });
    destination = openDestination(flags.out, '--out', io.env, { kmsKeyArn: given.kmsKeyArn, bucketOwner: given.bucketOwner });
    const { secretId } = given;
    const credentialsSource = secretId ? `the secret ${secretId}` : 'BETATEL_API_KEY / BETATEL_USER_ID';
    if (check) {
      const read = async (): Promise<{ credentials: Credentials; credentialsSource: string }> => ({
        credentials: secretId ? await credentialsFromSecretsManager(secretId) : credentialsFromEnvironment(io.env),
        credentialsSource,
      });
      const lines = await runCheck({ settings, destination, credentials: read, tuning: io.tuning, signal: io.signal });
      io.stdout.write(flags.json ? `${JSON.stringify({ ok: lines.every((line) => line.ok), lines })}\n` : checkText(lines));
      return lines.every((line) => line.ok) ? 0 : 1;
    }
    const credentials = secretId ? await credentialsFromSecretsManager(secretId) : credentialsFromEnvironment(io.env);
    progress = io.stderr.isTTY ? new ProgressLine(io.stderr) : undefined;
    const manifest = await runExport({
      settings,
      destination,
      credentials,
      credentialsSource,
      signal: io.signal,
      tuning: io.tuning,
      observer: {
        onProgress: (update) => {
          answered = true;
          progress?.update(update);
        },
        // Until the first page arrives there is no progress to show: say what is being waited for.
        onRetry: ({ attempt, delayMs, reason }) => {
          if (answered || attempt <= waited) return; // one line per round, however many requests wait
          waited = attempt;
          io.stderr.write(`esim-export: waiting for the API: ${reason}; try ${attempt + 1} in ${(delayMs / 1000).toFixed(1)} s\n`);
        },
      },
    });
    progress?.clear();
    io.stdout.write(flags.json ? `${JSON.stringify(manifest)}\n` : summary(manifest, destination));
    return 0;
  } catch (caught) {
    progress?.clear();
    const error = asExportError(caught);
    io.stderr.write(isUsageError(error) && error.code === 'CONFIG' ? usageError(error.message) : `esim-export: ${error.message}\n`);
    if (flags.debug && caught instanceof Error && caught.stack) io.stderr.write(`${caught.stack}\n`);
    if (error instanceof ExportAbortedError) return 130;
    return isUsageError(error) ? 2 : 1;
  }
}

/** A usage error's one line: what is wrong, and where to look. */
const usageError = (message: string): string => `esim-export: ${message} (see esim-export --help)\n`;

function isUsageError(error: ExportError): boolean {
  return error.code === 'CONFIG' || error.code === 'CREDENTIALS';
}

const number = (n: number): string => n.toLocaleString('en-US');

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** The human summary: what was written, where, and whether anything needs a look. */
export function summary(manifest: Manifest, destination: Destination): string {
  const seconds = (Date.parse(manifest.finished_at) - Date.parse(manifest.started_at)) / 1000;
  const lines = [
    `Exported ${number(manifest.records)} eSIMs (API total ${number(manifest.api_total)}) as the ${manifest.snapshot_date} snapshot` +
      `${manifest.scope === FULL_SCOPE ? '' : ` (scope ${manifest.scope})`} into ${destination.description}`,
  ];
  const width = Math.max(...manifest.files.map((file) => file.key.length));
  for (const file of manifest.files) {
    lines.push(`  ${file.format.padEnd(7)}  ${file.key.padEnd(width)}  ${size(file.bytes).padStart(10)}  sha256 ${file.sha256.slice(0, 12)}…`);
  }
  const statuses = Object.entries(manifest.by_status).map(([status, count]) => `${status} ${number(count)}`);
  lines.push(`  by status: ${statuses.join(', ') || 'none'}`);
  const { changes } = manifest;
  // A previous snapshot that could not be compared with is a warning, printed below.
  if (changes.skipped === undefined) {
    lines.push(`  changes since ${changes.previous?.snapshot_date}: ${number(changes.added)} added, ${number(changes.changed)} changed, ${number(changes.removed)} removed`);
  } else if (!changes.previous_unusable) lines.push(`  no change set: ${changes.skipped}`);
  lines.push(`  ${number(manifest.requests)} requests, ${number(manifest.retries)} retries, ${seconds.toFixed(1)} s`);
  for (const warning of manifest.warnings) lines.push(`  warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}
