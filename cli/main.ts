#!/usr/bin/env node
/** `npx esim-export [flags]` (built to dist/esim-export.js by `npm run build`): see run-cli.ts, or `--help`. */
import { runCli } from './run-cli';

// Ctrl-C, `kill`, a CI cancel or a container stop: stop, publish nothing, remove what was
// staged, then die of the same signal, so the shell sees it (a `for` loop or `cmd; next`
// stops on Ctrl-C, as it does for any well-behaved tool; $? is 128 + its number). A second
// signal does not cut the cleanup short (that would leave the staging and the lock behind):
// it is told to wait. SIGKILL still ends it at once; the next run then clears what it left.
const controller = new AbortController();
let stoppedBy: NodeJS.Signals | undefined;
const stop = (signal: NodeJS.Signals): void => {
  if (stoppedBy) {
    process.stderr.write('esim-export: stopping: removing what this run staged, one moment.\n');
    return;
  }
  stoppedBy = signal;
  controller.abort();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

// Exit 0 only when a snapshot was published: should the export ever stop waiting on something
// that can no longer happen (the event loop empties before runCli answers), that is a failure.
let answered = false;
process.on('beforeExit', () => {
  if (answered) return;
  answered = true;
  process.stderr.write('esim-export: the export stopped before it finished (internal error: nothing was left to wait for); nothing was published. Run again, and report it if it recurs.\n');
  process.exitCode = 1;
});

runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
}).then((status) => {
  answered = true;
  if (!stoppedBy) return void (process.exitCode = status);
  // Cleanup is done: take the default action of the signal (end the process, killed by it).
  process.removeAllListeners(stoppedBy);
  process.kill(process.pid, stoppedBy);
});

// `npx esim-export --help | head`: a reader that stops early is not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
