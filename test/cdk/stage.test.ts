/** App context: `-c stage=…`, `-c jwtIssuer=… -c jwtAudience=…`, validated together. */
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { readStageContext } from '../../lib/stage.js';

// A Node tree to read context from: no app (an App would make an assembly folder in the temp dir).
const read = (context: Record<string, string>) => {
  const root = new Construct(undefined as never, '');
  for (const [k, v] of Object.entries(context)) root.node.setContext(k, v);
  return readStageContext(root.node);
};

describe('readStageContext', () => {
  it('defaults to dev with a stack-created user pool', () => {
    expect(read({})).toEqual({ stage: 'dev', existingIssuer: undefined });
  });

  it('reads prod and an existing issuer with a comma-separated audience', () => {
    expect(read({ stage: 'prod', jwtIssuer: 'https://login.example.com', jwtAudience: 'ios, android' })).toEqual({
      stage: 'prod',
      existingIssuer: { issuer: 'https://login.example.com', audience: ['ios', 'android'] },
    });
  });

  it('reports every problem at once', () => {
    expect(() => read({ stage: 'staging', jwtIssuer: 'http://insecure.example.com' })).toThrow(
      /stage must be one of dev\|prod, not 'staging'.*jwtIssuer needs jwtAudience.*must be an https URL/,
    );
    expect(() => read({ jwtAudience: 'app' })).toThrow(/jwtAudience needs jwtIssuer/);
  });

  it('reads an SES sender and its region for the user pool; refuses a non-address, a lone half of the pair, and a sender with an external issuer (no pool)', () => {
    expect(read({ stage: 'prod', sesFromEmail: 'no-reply@runningcoach.example', sesRegion: 'eu-west-1' })).toEqual({
      stage: 'prod',
      existingIssuer: undefined,
      sesFromEmail: 'no-reply@runningcoach.example',
      sesRegion: 'eu-west-1',
    });
    expect(() => read({ sesFromEmail: 'not an address', sesRegion: 'eu-west-1' })).toThrow(/sesFromEmail must be an e-mail address/);
    expect(() => read({ sesFromEmail: 'a@b.example' })).toThrow(/sesFromEmail and sesRegion come together/);
    expect(() => read({ sesFromEmail: 'a@b.example', sesRegion: 'Ireland' })).toThrow(/sesRegion must be a region name/);
    expect(() => read({ sesFromEmail: 'a@b.example', sesRegion: 'eu-west-1', jwtIssuer: 'https://login.example.com', jwtAudience: 'app' })).toThrow(/it has none with jwtIssuer/);
  });

  it('reads an alarm topic ARN, and refuses anything but a standard SNS topic ARN', () => {
    const arn = 'arn:aws:sns:eu-west-1:123456789012:ops-pager';
    expect(read({ alarmTopicArn: arn })).toEqual({ stage: 'dev', existingIssuer: undefined, alarmTopicArn: arn });
    expect(read({}).alarmTopicArn).toBeUndefined();
    for (const bad of ['ops-pager', 'arn:aws:sqs:eu-west-1:123456789012:ops', 'arn:aws:sns:eu-west-1:123456789012:ops.fifo']) {
      expect(() => read({ alarmTopicArn: bad }), bad).toThrow(/alarmTopicArn must be an SNS topic ARN/);
    }
  });
});
