/**
 * From a page's body to what the snapshot needs of it: the API's total, each record's ICCID
 * and status, and the records encoded as the bytes of each requested format.
 *
 * Decoding (checking the JSON, reading ICCIDs, NDJSON and CSV encoding) is most of an export's
 * CPU. Where there is a second core it runs on a worker thread, so the main thread only talks
 * HTTP and writes while the compressors work in zlib's thread pool: `npm run bench` measured a
 * zero-latency export taking 1.2–1.3× as long without the thread as with it (BENCHMARKS.md).
 * Either way the same `decodePage` does the work, so the output is the same.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { type EncodedRecords, InvalidPageError, type PageContent, readPage } from './page-body';
import type { Format } from './settings';

/** The API's total, each record's ICCID and status, and the records in each requested format. */
export type DecodedPage = PageContent;

export { InvalidPageError };

/** Message to the decoder thread, and its answer. */
export interface DecodeRequest {
  readonly id: number;
  readonly body: Uint8Array;
}
export type DecodeAnswer = { readonly id: number; readonly page: DecodedPage } | { readonly id: number; readonly invalid: string };
export interface DecoderThreadData {
  readonly formats: readonly Format[];
}

/** Checks and encodes one page body. Throws InvalidPageError when the body is not the documented JSON. */
export function decodePage(body: Uint8Array, formats: readonly Format[]): DecodedPage {
  return readPage(Buffer.from(body.buffer, body.byteOffset, body.byteLength), formats);
}

/**
 * The buffer behind `bytes` when `bytes` is all of it: such a buffer can be handed to the other
 * thread instead of copied. (A small Buffer can share Node's pool with others: that is copied.)
 */
export function transferable(bytes: Uint8Array): ArrayBuffer[] {
  const { buffer } = bytes;
  return buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength ? [buffer] : [];
}

/** The bytes of the records at `indexes` (ascending), back to back. */
export function selectRecords({ bytes, ends }: EncodedRecords, indexes: readonly number[]): Uint8Array {
  if (indexes.length === ends.length) return bytes;
  return Buffer.concat(indexes.map((i) => bytes.subarray(i === 0 ? 0 : ends[i - 1], ends[i])));
}

/**
 * The decoder thread's script: bundled beside this code (the Lambda, `npm run bench`), or the
 * TypeScript source run through tsx (the CLI, the tests).
 */
function threadScript(): { file: string; execArgv: string[] } {
  const bundled = path.join(__dirname, 'page-decoder-thread.js');
  if (existsSync(bundled)) return { file: bundled, execArgv: [] };
  // tsx's require hook (its --import hook does not reach worker threads on Node 20), found from here, not the working directory.
  return { file: path.join(__dirname, 'page-decoder-thread.ts'), execArgv: ['--require', createRequire(__filename).resolve('tsx/cjs')] };
}

/** Decodes pages in arrival order, on a worker thread or (`thread: false`) on the calling one. */
export class PageDecoder {
  private readonly worker: Worker | undefined;
  private readonly waiting = new Map<number, { resolve: (page: DecodedPage) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private stopped: Error | undefined;

  constructor(
    private readonly formats: readonly Format[],
    options: { readonly thread: boolean },
  ) {
    if (!options.thread) return;
    const { file, execArgv } = threadScript();
    const workerData: DecoderThreadData = { formats };
    // A page at a time is all the thread holds: with the default limits its heap kept growing
    // over a long run (`npm run bench`: about +25 MB of RSS at a million eSIMs).
    this.worker = new Worker(file, { workerData, execArgv, resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 16 } });
    this.worker.on('message', (answer: DecodeAnswer) => {
      const waiter = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      if ('page' in answer) waiter?.resolve(answer.page);
      else waiter?.reject(new InvalidPageError(answer.invalid));
    });
    this.worker.on('error', (error) => this.stop(new Error(`the page decoder thread failed: ${error.message}`, { cause: error })));
    this.worker.on('exit', (code) => this.stop(new Error(`the page decoder thread stopped (exit code ${code})`)));
  }

  /** Decodes `body`, which may be handed over to the decoder thread: the caller must not use it again. */
  decode(body: Uint8Array): Promise<DecodedPage> {
    if (!this.worker) return new Promise((resolve) => resolve(decodePage(body, this.formats)));
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const request: DecodeRequest = { id, body };
      this.worker!.postMessage(request, transferable(body));
    });
  }

  async close(): Promise<void> {
    this.stop(new Error('the page decoder was closed'));
    await this.worker?.terminate();
  }

  private stop(reason: Error): void {
    this.stopped ??= reason;
    for (const waiter of this.waiting.values()) waiter.reject(this.stopped);
    this.waiting.clear();
  }
}
