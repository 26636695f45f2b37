/** NDJSON: one API record per line, the same JSON values the API sent, unknown fields included. */
import { toJsonText } from '../record';
import type { Encoder } from './encoder';

export const ndjsonEncoder = (): Encoder => ({
  format: 'ndjson',
  contentType: 'application/x-ndjson',
  header: '',
  encode: (records) => {
    let text = '';
    for (const record of records) text += `${toJsonText(record)}\n`;
    return text;
  },
  end: () => '',
  warnings: () => [],
});
