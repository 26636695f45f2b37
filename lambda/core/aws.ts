/**
 * AWS SDK clients, built in one place with the settings every caller needs.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { CredentialsError, oneLine } from './errors';

/**
 * An S3 client that honours the SDK's usual environment (region, credentials,
 * AWS_ENDPOINT_URL_S3). With an endpoint override (MinIO, s3rver, LocalStack) it uses
 * path-style addressing, which those servers need, and computes checksums only where S3
 * requires them, since many of them do not support the SDK's default CRC checksums.
 */
export function createS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  return new S3Client(
    endpoint
      ? { endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
      : {},
  );
}

/**
 * A secret's string value: the one way the CLI's --secret-id and the function read their
 * credentials. Powertools' getSecret (its SecretsProvider, over the SDK's client) keeps the
 * value `maxAgeSeconds` for the next read of a warm function; the CLI reads once.
 */
export async function readSecretString(secretId: string, maxAgeSeconds = 0): Promise<string | undefined> {
  try {
    const value = await getSecret(secretId, { maxAge: maxAgeSeconds, forceFetch: maxAgeSeconds === 0 });
    return typeof value === 'string' ? value : undefined;
  } catch (caught) {
    // Powertools wraps the SDK's error: name and say that one.
    const error = ((caught as { cause?: unknown }).cause ?? caught) as { name?: string; message?: string };
    const message = oneLine(error.message ?? '', 160);
    throw new CredentialsError(`could not read the secret ${secretId} (${error.name ?? 'Error'}${message ? `: ${message}` : ''}): check its name, its region and the permission secretsmanager:GetSecretValue.`, {
      cause: caught,
    });
  }
}
