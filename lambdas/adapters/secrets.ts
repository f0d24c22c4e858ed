import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Reads a secret string once, at cold start (the cursor HMAC key in AWS). */
export async function readSecret(arn: string, client = new SecretsManagerClient({})): Promise<string> {
  const res = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  if (!res.SecretString) throw new Error(`secret ${arn} has no string value`);
  return res.SecretString;
}
