/** `npm run export -- [flags]`: see run-cli.ts, or `npm run export -- --help`. */
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
