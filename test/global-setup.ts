/** Builds dist/ (the CLI, the demo, the sandbox) once, so tests that spawn them run this code. */
import { execFileSync } from 'node:child_process';

export default function globalSetup(): void {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: `${__dirname}/..`, stdio: 'inherit' });
}
