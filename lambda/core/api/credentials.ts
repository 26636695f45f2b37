/**
 * The API credentials: from the environment (CLI) or a Secrets Manager secret whose value is
 * `{"apiKey": "...", "userId": "..."}` (Lambda, or the CLI's --secret-id).
 *
 * Errors name the variable, the secret and the field at fault, never a value.
 */
import { z } from 'zod';
import type { Credentials } from './betatel-client';
import { readSecretString } from '../aws';
import { CredentialsError } from '../errors';

/** What the stack puts in a secret it creates. The handler refuses to run with it. */
export const PLACEHOLDER_API_KEY = 'REPLACE_WITH_BETATEL_API_KEY';
export const PLACEHOLDER_USER_ID = 'REPLACE_WITH_BETATEL_USER_ID';

const secretSchema = z.object({
  apiKey: z.string({ error: 'apiKey must be a string' }).trim().min(1, { error: 'apiKey must not be empty' }),
  userId: z.string({ error: 'userId must be a string' }).trim().min(1, { error: 'userId must not be empty' }),
});

const EXPECTED = 'its value must be JSON {"apiKey": "...", "userId": "..."}';

/**
 * The key and user id travel as HTTP headers, which hold printable ASCII only. A line break or
 * a typographic quote pasted from a document would otherwise be retried for a minute, then
 * blamed on the API URL. The message names where the value is, never the value.
 */
function checkHeaderSafe(value: string, where: string): void {
  if (/[^\x20-\x7e]/.test(value)) {
    throw new CredentialsError(
      `${where} holds a character that cannot be sent in an HTTP header (a line break, a tab, or a non-ASCII character such as a typographic quote): copy it again as plain text.`,
    );
  }
}

/** Parses a secret's value. `secretName` is only used in messages. */
export function credentialsFromSecret(value: string | undefined, secretName: string): Credentials {
  if (value === undefined || value.trim() === '') {
    throw new CredentialsError(`the secret ${secretName} has no string value: ${EXPECTED}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    // Never quote the value or the parser's message: either may contain the key.
    throw new CredentialsError(`the secret ${secretName} is not valid JSON: ${EXPECTED}.`);
  }
  const parsed = secretSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.length ? issue.message : 'the value must be a JSON object';
    throw new CredentialsError(`the secret ${secretName} is malformed: ${field}; ${EXPECTED}.`);
  }
  const { apiKey, userId } = parsed.data;
  if (apiKey === PLACEHOLDER_API_KEY || userId === PLACEHOLDER_USER_ID) {
    throw new CredentialsError(
      `the secret ${secretName} still holds the placeholder the stack created: put your Betatel API key and user id in it ` +
        `(aws secretsmanager put-secret-value --secret-id ${secretName} --secret-string '{"apiKey":"…","userId":"…"}').`,
    );
  }
  checkHeaderSafe(apiKey, `apiKey in the secret ${secretName}`);
  checkHeaderSafe(userId, `userId in the secret ${secretName}`);
  return { apiKey, userId };
}

/** Reads BETATEL_API_KEY and BETATEL_USER_ID. */
export function credentialsFromEnvironment(env: NodeJS.ProcessEnv): Credentials {
  const apiKey = env.BETATEL_API_KEY?.trim();
  const userId = env.BETATEL_USER_ID?.trim();
  const missing = [!apiKey && 'BETATEL_API_KEY', !userId && 'BETATEL_USER_ID'].filter(Boolean);
  if (missing.length > 0) {
    throw new CredentialsError(
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: export BETATEL_API_KEY and BETATEL_USER_ID, or pass --secret-id to read them from Secrets Manager.`,
    );
  }
  checkHeaderSafe(apiKey!, 'BETATEL_API_KEY');
  checkHeaderSafe(userId!, 'BETATEL_USER_ID');
  return { apiKey: apiKey!, userId: userId! };
}

/** The credentials in a Secrets Manager secret (`{"apiKey", "userId"}`): the CLI's --secret-id and the function. */
export async function credentialsFromSecretsManager(secretId: string, maxAgeSeconds = 0): Promise<Credentials> {
  return credentialsFromSecret(await readSecretString(secretId, maxAgeSeconds), secretId);
}
