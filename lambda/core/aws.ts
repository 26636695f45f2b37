/**
 * AWS SDK clients, built in one place with the settings every caller needs.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
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

/** Reads a secret's string value for the CLI's --secret-id (the Lambda uses Powertools' cached getSecret). */
export async function readSecretString(secretId: string, client?: SecretsManagerClient): Promise<string | undefined> {
  const secrets = client ?? new SecretsManagerClient({});
  try {
    const response = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
    return response.SecretString;
  } catch (error) {
    const name = (error as { name?: string }).name ?? 'Error';
    const message = oneLine((error as { message?: string }).message ?? '', 160);
    throw new CredentialsError(`could not read the secret ${secretId} (${name}${message ? `: ${message}` : ''}): check its name, its region and your permission secretsmanager:GetSecretValue.`, {
      cause: error,
    });
  } finally {
    if (!client) secrets.destroy();
  }
}
