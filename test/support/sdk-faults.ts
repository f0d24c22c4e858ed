/**
 * Fault injection with aws-sdk-client-mock in front of a real engine: every command the store
 * uses passes through to dynalite unless a test overrides it.
 */
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

const COMMANDS = [GetCommand, PutCommand, UpdateCommand, BatchGetCommand, QueryCommand] as const;

export function mockInFrontOf(db: DynamoDBDocumentClient) {
  const realSend = db.send.bind(db) as (c: unknown) => Promise<unknown>;
  const mock = mockClient(db);
  for (const Command of COMMANDS) {
    mock.on(Command as never).callsFake((input: unknown) => realSend(new (Command as unknown as new (i: unknown) => unknown)(input)));
  }
  return { mock, realSend };
}

export function sdkError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: {} });
}
