import { credentialsFromEnvironment, credentialsFromSecret, PLACEHOLDER_API_KEY, PLACEHOLDER_USER_ID } from '../lambda/core/credentials';
import { CredentialsError } from '../lambda/core/errors';

describe('credentialsFromSecret', () => {
  it('reads apiKey and userId', () => {
    expect(credentialsFromSecret('{"apiKey":"k-123","userId":"675aed6103dee9ca55a36a9a"}', 'esim/betatel')).toEqual({
      apiKey: 'k-123',
      userId: '675aed6103dee9ca55a36a9a',
    });
  });

  it.each([
    ['not JSON', 'apiKey=supersecret', /not valid JSON/],
    ['a missing userId', '{"apiKey":"supersecret"}', /userId must be a string/],
    ['an empty apiKey', '{"apiKey":" ","userId":"u"}', /apiKey must not be empty/],
    ['a JSON string', '"supersecret"', /must be a JSON object/],
    ['no value', undefined, /has no string value/],
  ])('rejects %s naming the secret and the field, never the value', (_name, value, message) => {
    let error: unknown;
    try {
      credentialsFromSecret(value, 'esim/betatel');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain('esim/betatel');
    expect((error as Error).message).not.toContain('supersecret');
  });

  it('refuses the placeholder the stack puts in a new secret', () => {
    const value = JSON.stringify({ apiKey: PLACEHOLDER_API_KEY, userId: PLACEHOLDER_USER_ID });
    expect(() => credentialsFromSecret(value, 'esim/betatel')).toThrow(/still holds the placeholder/);
  });
});

describe('credentialsFromEnvironment', () => {
  it('reads BETATEL_API_KEY and BETATEL_USER_ID', () => {
    expect(credentialsFromEnvironment({ BETATEL_API_KEY: 'k', BETATEL_USER_ID: 'u' })).toEqual({ apiKey: 'k', userId: 'u' });
  });

  it('names what is missing', () => {
    expect(() => credentialsFromEnvironment({ BETATEL_API_KEY: 'k' })).toThrow(/^BETATEL_USER_ID is not set/);
    expect(() => credentialsFromEnvironment({})).toThrow(/^BETATEL_API_KEY and BETATEL_USER_ID are not set/);
  });
});
