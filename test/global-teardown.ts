/** After every test: removes the run's temporary folder (global-setup.ts). */
import { rmSync } from 'node:fs';

export default function globalTeardown(): void {
  const root = process.env.ESIM_EXPORT_TEST_TMPDIR;
  if (root) rmSync(root, { recursive: true, force: true });
}
