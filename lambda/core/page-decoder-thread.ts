/**
 * The page decoder's worker thread (page-decoder.ts): decodes each body it is sent and posts
 * the result back, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type DecodeAnswer, type DecoderThreadData, type DecodeRequest, decodePage, InvalidPageError, transferable } from './page-decoder';

const { formats } = workerData as DecoderThreadData;

parentPort!.on('message', ({ id, body }: DecodeRequest) => {
  let answer: DecodeAnswer;
  try {
    answer = { id, page: decodePage(body, formats) };
  } catch (error) {
    // Anything else is a bug: let it fail the thread, which fails the export loudly.
    if (!(error instanceof InvalidPageError)) throw error;
    answer = { id, invalid: error.message };
  }
  // The encoded bytes are handed over, not copied, where they can be.
  parentPort!.postMessage(answer, 'page' in answer ? Object.values(answer.page.encoded).flatMap(({ bytes }) => transferable(bytes)) : []);
});
