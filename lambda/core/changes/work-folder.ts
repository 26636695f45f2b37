/**
 * The comparison's scratch folders, under one root in the temporary folder: `<pid>-<uuid>`.
 *
 * A comparison removes its folder when it ends, whatever way it ends; a process killed midway
 * (a Lambda time-out, SIGKILL) cannot. So each new comparison first removes the folders no
 * live comparison owns: those of processes that are gone, and those of this process that no
 * comparison of it is using (an earlier, killed attempt in a warm Lambda container, whose new
 * runtime process may well have the same pid). At 10,000,000 eSIMs one is about 700 MB.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

const inUse = new Set<string>();
/** A comparison's folder: `<pid>-<uuid>`. */
const FOLDER = /^(\d+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Removes the folders under `root` that no live comparison owns. */
export async function sweep(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((name) => {
        // Only our own folders: anything else under the root is not ours to remove.
        const owner = FOLDER.exec(name)?.[1];
        if (owner === undefined || inUse.has(path.join(root, name))) return false;
        return Number(owner) === process.pid || !alive(Number(owner));
      })
      .map((name) => rm(path.join(root, name), { recursive: true, force: true })),
  );
}

/** `work`'s items, `work` given a new, empty folder under `root`, removed afterwards however it ends. */
export async function* inWorkFolder<T>(root: string, work: (folder: string) => AsyncGenerator<T>): AsyncGenerator<T> {
  await sweep(root);
  const folder = path.join(root, `${process.pid}-${randomUUID()}`);
  inUse.add(folder);
  try {
    await mkdir(folder, { recursive: true });
    yield* work(folder);
  } finally {
    inUse.delete(folder);
    await rm(folder, { recursive: true, force: true });
  }
}
