#!/usr/bin/env node
/** `npx esim-export [flags]` (built to dist/esim-export.js by `npm run build`): see run-cli.ts, or `--help`. */
import { runCli } from './run-cli';

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
process.once('SIGTERM', () => controller.abort());

runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
}).then((status) => {
  process.exitCode = status;
});

// `npx esim-export --help | head`: a reader that stops early is not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
