/**
 * Fault injection with aws-sdk-client-mock in front of a real engine: every command the store
 * uses passes through to dynalite unless a test overrides it.
 */
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  ConditionalCheckFailedException,
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
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

/** DynamoDB's modelled errors, as the SDK throws them (its own classes: name, $fault, $metadata). */
const DYNAMODB_ERRORS: Record<string, new (o: { message: string; $metadata: { httpStatusCode: number } }) => Error> = {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
  ThrottlingException,
  RequestLimitExceeded,
  InternalServerError,
};

/**
 * An error as the SDK hands it over: DynamoDB's own exception class where the name is one of its
 * modelled errors (with the HTTP status the service answers), else the service's base exception.
 * A condition failure's item must be added in wire form (`marshall(item)`), as DynamoDB sends it.
 */
export function sdkError(name: string, message = name): Error {
  const status = name === 'InternalServerError' || name === 'InternalError' ? 500 : 400;
  const Known = DYNAMODB_ERRORS[name];
  if (Known) return new Known({ message, $metadata: { httpStatusCode: status } });
  return new DynamoDBServiceException({ name, $fault: status >= 500 ? 'server' : 'client', message, $metadata: { httpStatusCode: status } });
}
