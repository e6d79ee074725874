import { errorText, isThrottling, retryWaitAfter, THROTTLED_ATTEMPTS } from '../../handlers/codedeploy-errors';
import { AccessDeniedException, InternalFailure, ThrottlingException } from '../../local/faults';

/**
 * The one rule for a CodeDeploy action that throws an error which is not a refusal, shared by the
 * rollback handler and the bake: throttling is tried again (1 s, then 2 s) for THROTTLED_ATTEMPTS
 * attempts; anything else is given up on at once and announced with the error in words.
 */
describe('a CodeDeploy error after the SDK\'s retries', () => {
  it('throttling (by name, or as the SDK marks it) is waited out for three attempts in all', () => {
    const marked = Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException', $retryable: { throttling: true } });
    expect(isThrottling(new ThrottlingException('Rate exceeded'))).toBe(true);
    expect(isThrottling(marked)).toBe(true);
    expect([1, 2, 3].map((attempt) => retryWaitAfter(marked, attempt))).toEqual([1_000, 2_000, undefined]);
    expect(THROTTLED_ATTEMPTS).toBe(3);
  });

  it('access denied, a 5xx or anything else is given up on at the first attempt', () => {
    expect(retryWaitAfter(new AccessDeniedException('not authorized'), 1)).toBeUndefined();
    expect(retryWaitAfter(new InternalFailure('internal error'), 1)).toBeUndefined();
    expect(retryWaitAfter('not even an Error', 1)).toBeUndefined();
  });

  it('is told as <name>: <message>', () => {
    expect(errorText(new AccessDeniedException('User is not authorized to perform: codedeploy:StopDeployment'))).toBe('AccessDeniedException: User is not authorized to perform: codedeploy:StopDeployment');
    expect(errorText('socket hang up')).toBe('socket hang up');
  });
});
