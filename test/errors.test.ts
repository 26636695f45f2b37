import { redact } from '../lambda/core/errors';

describe('redact', () => {
  it('removes credentials from server text, leaving words intact around short values', () => {
    expect(redact('bad key abcd-1234 for user 675aed61', ['abcd-1234', '675aed61'])).toBe('bad key [redacted] for user [redacted]');
    expect(redact('Unauthorized', ['u'])).toBe('Unauthorized');
  });
});
