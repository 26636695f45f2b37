/**
 * A folder on this machine as a destination. Every replacement is a rename within the folder
 * (atomic on one file system), and copies are hard links where the file system allows, so
 * publishing a large snapshot moves no data.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { fileFailure } from '../errors';
import type { Destination, StoredDocument, WriteCondition, WrittenObject } from './destination';

/** Nothing at that path: no such file, or a file where one of its folders would be. */
const absent = (error: unknown): boolean => ['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '');

const versionOf = (body: Buffer): string => createHash('sha256').update(body).digest('hex');

export class FolderDestination implements Destination {
  public readonly description: string;
  private readonly root: string;
  /** Whether the output folder existed before this run: if not, and nothing is left in it, it goes again. */
  private rootExisted: boolean | undefined;

  constructor(folder: string) {
    this.description = folder;
    this.root = path.resolve(folder);
  }

  keyFor(relativeKey: string): string {
    return relativeKey;
  }

  async write(relativeKey: string): Promise<WrittenObject> {
    const file = await this.prepare(relativeKey, 'create');
    // Replaces a file a failed attempt of the same step left (as S3 replaces the object).
    const stream = createWriteStream(file, { flags: 'w' });
    // A failed write (a full disk, a file-size limit) carries no path: name the file, so the
    // run's error says which one and why in words (errors.ts), whoever meets it first.
    stream.on('error', (error: NodeJS.ErrnoException) => {
      error.path ??= file;
    });
    return {
      stream,
      complete: async () => {
        stream.end();
        await finished(stream).catch((error: unknown) => {
          throw fileFailure('write', file, error);
        });
      },
      discard: async () => {
        stream.destroy();
        await this.remove([relativeKey]);
      },
    };
  }

  async putDocument(relativeKey: string, body: string | Buffer, condition?: WriteCondition): Promise<boolean> {
    const final = await this.prepare(relativeKey, 'write');
    const temporary = `${path.dirname(final)}/.${path.basename(final)}.${randomUUID()}.tmp`;
    try {
      await writeFile(temporary, body, { flag: 'wx' });
      if (condition && 'absent' in condition) {
        // link() fails if the name exists: create-if-absent in one step.
        const created = await link(temporary, final).then(
          () => true,
          (error: NodeJS.ErrnoException) => {
            if (error.code === 'EEXIST') return false;
            throw error;
          },
        );
        return created;
      }
      if (condition && !(await this.holds(relativeKey, condition))) return false;
      await rename(temporary, final);
      return true;
    } catch (error) {
      throw fileFailure('write', final, error);
    } finally {
      await rm(temporary, { force: true });
    }
  }

  async readDocument(relativeKey: string): Promise<StoredDocument | undefined> {
    const file = this.resolve(relativeKey);
    try {
      const body = await readFile(file);
      return { body, version: versionOf(body) };
    } catch (error) {
      if (absent(error)) return undefined;
      throw fileFailure('read', file, error);
    }
  }

  async read(relativeKey: string): Promise<Readable | undefined> {
    const file = this.resolve(relativeKey);
    try {
      // Opened first, so a missing file is undefined here rather than an error mid-stream.
      return (await open(file)).createReadStream();
    } catch (error) {
      if (absent(error)) return undefined;
      throw fileFailure('read', file, error);
    }
  }

  async hash(relativeKey: string): Promise<string | undefined> {
    const file = this.resolve(relativeKey);
    const stream = await this.read(relativeKey);
    if (!stream) return undefined;
    const hash = createHash('sha256');
    await pipeline(stream, hash).catch((error: unknown) => {
      throw fileFailure('read', file, error);
    });
    return hash.digest('hex');
  }

  /** A file's version is the SHA-256 of its bytes, as readDocument gives it. */
  async version(relativeKey: string): Promise<string | undefined> {
    return this.hash(relativeKey);
  }

  async copy(fromKey: string, toKey: string, condition?: WriteCondition): Promise<boolean> {
    const from = this.resolve(fromKey);
    const to = await this.prepare(toKey, 'write');
    const temporary = `${path.dirname(to)}/.${path.basename(to)}.${randomUUID()}.tmp`;
    try {
      await link(from, temporary).catch(() => copyFile(from, temporary));
      if (condition && !(await this.holds(toKey, condition))) return false;
      await rename(temporary, to);
      return true;
    } catch (error) {
      throw fileFailure('write', to, error);
    } finally {
      // rename() does nothing when both names are links to one file (a restore of a key that
      // never changed, from its hard-linked backup): the temporary name must still go.
      await rm(temporary, { force: true });
    }
  }

  async removeIf(relativeKey: string, version: string): Promise<boolean> {
    const now = await this.version(relativeKey);
    if (now === undefined) return true; // gone already
    if (now !== version) return false;
    await this.remove([relativeKey]);
    return true;
  }

  /**
   * Whether `condition` holds for the file now. Checked just before the change, not in the
   * same step as S3 does: two writers of one folder are two processes of one machine, which
   * the scope's lock already keeps apart while both are alive.
   */
  private async holds(relativeKey: string, condition: WriteCondition): Promise<boolean> {
    const now = await this.version(relativeKey);
    return 'absent' in condition ? now === undefined : now === condition.version;
  }

  async remove(relativeKeys: readonly string[]): Promise<void> {
    for (const key of relativeKeys) {
      const file = this.resolve(key);
      await rm(file, { force: true }).catch((error: unknown) => {
        if (!absent(error)) throw fileFailure('remove', file, error);
      });
      // Empty folders left behind go too (rmdir refuses a folder that is not empty).
      for (let folder = path.dirname(file); folder.startsWith(`${this.root}${path.sep}`); folder = path.dirname(folder)) {
        if (!(await rmdir(folder).then(() => true, () => false))) break;
      }
    }
  }

  async list(relativePrefix: string): Promise<string[]> {
    // Prefixes used here always end at a folder boundary ("…/manifests/").
    const folder = this.resolve(relativePrefix);
    const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return [];
      throw fileFailure('list', folder, error);
    });
    return entries
      .filter((entry) => entry.isFile() && !entry.name.endsWith('.tmp'))
      .map((entry) => path.relative(this.root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
  }

  async close(): Promise<void> {
    // Only an empty folder this run created goes; rmdir refuses anything else.
    if (this.rootExisted === false) await rmdir(this.root).catch(() => undefined);
  }

  /** The file's path, with its folder made. */
  private async prepare(relativeKey: string, action: string): Promise<string> {
    const file = this.resolve(relativeKey);
    try {
      this.rootExisted ??= await stat(this.root).then(
        () => true,
        () => false,
      );
      await makeFolder(path.dirname(file));
    } catch (error) {
      throw fileFailure(action, file, error);
    }
    return file;
  }

  private resolve(relativeKey: string): string {
    return path.join(this.root, ...relativeKey.split('/'));
  }
}

/**
 * `mkdir -p`, one level at a time. Not `mkdir(…, { recursive: true })`: under a folder that
 * refuses new entries with ENOENT (/proc, /sys) Node's recursive mkdir retries for ever at
 * full CPU (seen with --out /proc/x: over 10 minutes, deaf to SIGTERM); this fails at once.
 */
async function makeFolder(folder: string): Promise<void> {
  try {
    await mkdir(folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A folder already: done. A file in the way: the EEXIST stands.
    if (code === 'EEXIST' && (await stat(folder)).isDirectory()) return;
    const parent = path.dirname(folder);
    if (code !== 'ENOENT' || parent === folder) throw error;
    await makeFolder(parent);
    await mkdir(folder).catch(async (again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST' || !(await stat(folder)).isDirectory()) throw again;
    });
  }
}
