import { asExportError, ConfigError, DestinationError, fileFailure, InternalError, oneLine, redact } from '../lambda/core/errors';

describe('redact', () => {
  it('removes credentials from server text, leaving words intact around short values', () => {
    expect(redact('bad key abcd-1234 for user 675aed61', ['abcd-1234', '675aed61'])).toBe('bad key [redacted] for user [redacted]');
    expect(redact('Unauthorized', ['u'])).toBe('Unauthorized');
  });

  it('removes a part of a key that a server echoes, not only the whole key', () => {
    const key = 'sk_live_4f9a8b7c6d5e';
    expect(redact(`key ${key.slice(0, 10)}… is invalid`, [key])).toBe('key [redacted]… is invalid');
    expect(redact(`suffix ${key.slice(-7)} rejected`, [key])).toBe('suffix [redacted] rejected');
    expect(redact('an ordinary message', [key])).toBe('an ordinary message');
  });
});

describe('oneLine', () => {
  it('keeps terminal escapes and control characters of a server body off the terminal', () => {
    expect(oneLine('\u001b[2J\u001b[31mred\u001b[0m\u0007 text\r\nmore\u0000')).toBe('red text more');
    expect(oneLine('\u001b]0;title\u0007after')).toBe('after');
  });
});

describe('asExportError', () => {
  it('keeps an ExportError as it is', () => {
    const error = new ConfigError('--formats must be …');
    expect(asExportError(error)).toBe(error);
  });

  it('makes a file-system error the destination’s, anything else an unexpected one', () => {
    const fsError = Object.assign(new Error("EACCES: permission denied, open '/x'"), { code: 'EACCES', path: '/x' });
    expect(asExportError(fsError)).toBeInstanceOf(DestinationError);
    expect(asExportError(new TypeError('boom'))).toMatchObject({ code: 'INTERNAL', message: 'unexpected error: boom' });
    expect(asExportError('a string')).toBeInstanceOf(InternalError);
  });
});

describe('fileFailure', () => {
  it.each([
    ['ENOSPC', 'the disk is full (ENOSPC)'],
    ['EROFS', 'the file system is read-only (EROFS)'],
    ['EACCES', 'permission denied (EACCES)'],
  ])('says what %s means', (code, words) => {
    const error = Object.assign(new Error(`${code}: raw message`), { code });
    expect(fileFailure('write', '/out/csv/x', error).message).toBe(`could not write /out/csv/x: ${words}. Nothing was published.`);
  });
});
