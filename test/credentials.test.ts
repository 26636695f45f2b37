import { credentialsFromEnvironment, credentialsFromSecret, PLACEHOLDER_API_KEY, PLACEHOLDER_USER_ID } from '../lambda/core/api/credentials';
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
    ['a key with a line break inside', '{"apiKey":"super\\nsecret","userId":"u"}', /^apiKey in the secret esim\/betatel holds a character that cannot be sent in an HTTP header/],
    ['a user id in typographic quotes', '{"apiKey":"supersecret","userId":"\u201cu\u201d"}', /^userId in the secret esim\/betatel holds a character/],
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

  it('refuses a value that cannot be an HTTP header at once, naming the variable', () => {
    expect(() => credentialsFromEnvironment({ BETATEL_API_KEY: 'super\rsecret', BETATEL_USER_ID: 'u' })).toThrow(/^BETATEL_API_KEY holds a character that cannot be sent/);
    expect(() => credentialsFromEnvironment({ BETATEL_API_KEY: 'k', BETATEL_USER_ID: '’u’' })).toThrow(/^BETATEL_USER_ID holds a character/);
  });

  it('names what is missing', () => {
    expect(() => credentialsFromEnvironment({ BETATEL_API_KEY: 'k' })).toThrow(/^BETATEL_USER_ID is not set/);
    expect(() => credentialsFromEnvironment({})).toThrow(/^BETATEL_API_KEY and BETATEL_USER_ID are not set/);
  });
});

describe('readSecretString', () => {
  it('says why a secret could not be read: the error and its message, never a value', async () => {
    const { mockClient } = await import('aws-sdk-client-mock');
    const { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const { readSecretString } = await import('../lambda/core/aws');
    const secrets = mockClient(SecretsManagerClient);
    try {
      secrets.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }));
      await expect(readSecretString('esim/betatel')).rejects.toThrow(
        "could not read the secret esim/betatel (ResourceNotFoundException: Secrets Manager can't find the specified secret.): check its name, its region and the permission secretsmanager:GetSecretValue.",
      );
      // The CLI reads once; a warm function keeps the value maxAge seconds.
      secrets.reset().on(GetSecretValueCommand).resolves({ SecretString: 'value' });
      await readSecretString('esim/betatel');
      await readSecretString('esim/betatel');
      expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
      await readSecretString('esim/other', 300);
      await readSecretString('esim/other', 300);
      expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(3);
    } finally {
      secrets.restore();
    }
  });
});

describe('S3 failures', () => {
  it('names the cause a user can act on', async () => {
    const { reasonOf } = await import('../lambda/core/destinations/s3');
    expect(reasonOf(new Error('Region is missing'), 'b')).toBe('no AWS region is set: set AWS_REGION (or a profile with a region)');
    expect(reasonOf(Object.assign(new Error('x'), { name: 'NoSuchBucket' }), 'b')).toBe('the bucket b does not exist (or is in another account)');
    // S3 passing on KMS's refusal, and KMS's own errors, name the key's permissions rather than S3's.
    const kmsDenied = Object.assign(new Error('User: arn:aws:sts::1:assumed-role/r is not authorized to perform: kms:GenerateDataKey on this resource'), { name: 'AccessDenied' });
    expect(reasonOf(kmsDenied, 'b')).toMatch(/^KMS refused: the caller needs kms:GenerateDataKey and kms:Decrypt on the key \(User: /);
    expect(reasonOf(Object.assign(new Error('key is disabled'), { name: 'KMS.DisabledException' }), 'b')).toMatch(/^KMS refused: /);
    expect(reasonOf(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }), 'b')).toMatch(/^access denied: the caller needs s3:PutObject/);
    // A bucket or key name with "kms" in it is not KMS speaking.
    expect(reasonOf(Object.assign(new Error('Access Denied to kms-archive'), { name: 'AccessDenied' }), 'kms-archive')).toMatch(/^access denied: /);
    expect(reasonOf(Object.assign(new Error('x'), { name: 'AccessDenied' }), 'b')).toMatch(/^access denied: the caller needs s3:PutObject/);
  });
});
