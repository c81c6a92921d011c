Feature: Retry policies
  Decision 6 (revised): `limit.attempt.count` counts retries after the first attempt; the delay
  before retry n is `delay` (constant), `delay * n` (linear) or `delay * 2^(n-1)` (exponential),
  plus a jitter drawn from [from, to]. A caught error runs `catch.do` (if any); with a retry policy
  the whole `try` list then runs again, on the try task's own input, while the policy allows.
  Once it no longer does (attempt count, `limit.duration`, its `when`/`exceptWhen`), the last
  error propagates: a retried task that never succeeds faults, and an enclosing `try` may catch
  it. In every catch and retry condition `.` is the error (decision 12). Every retry is announced
  by a task.retried event carrying data.delay.

  Scenario: Constant backoff retries a failing task count times, then the error propagates
    catch.do handles each caught error (4 attempts, 4 handlings); the fourth one is not retried.
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-constant
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                      status: 503
                      title: Unavailable
            catch:
              errors:
                with:
                  status: 503
              retry:
                delay:
                  milliseconds: 100
                backoff:
                  constant: {}
                limit:
                  attempt:
                    count: 3
              do:
                - handle:
                    set:
                      handled: true
      """
    When the workflow is executed
    Then task attempt should have been retried 3 times
    And the delays between attempts of attempt should be about 100, 100, 100 milliseconds
    And handle should run after fail
    And handle should run last
    And task attempt should have been faulted
    And the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
      status: 503
      title: Unavailable
      instance: /do/0/attempt/try/0/fail
      """

  Scenario: Linear backoff multiplies the delay by the retry number
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-linear
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                      status: 500
            catch:
              retry:
                delay:
                  milliseconds: 40
                backoff:
                  linear: {}
                limit:
                  attempt:
                    count: 4
      """
    When the workflow is executed
    Then task attempt should have been retried 4 times
    And the delays between attempts of attempt should be about 40, 80, 120, 160 milliseconds
    And the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
      status: 500
      """

  Scenario: Exponential backoff doubles the delay at each retry
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-exponential
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                      status: 500
            catch:
              retry:
                delay:
                  milliseconds: 40
                backoff:
                  exponential: {}
                limit:
                  attempt:
                    count: 4
      """
    When the workflow is executed
    Then task attempt should have been retried 4 times
    And the delays between attempts of attempt should be about 40, 80, 160, 320 milliseconds
    And the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
      status: 500
      """

  Scenario: Jitter adds a random extra delay within its range
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-jitter
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                      status: 500
            catch:
              retry:
                delay:
                  milliseconds: 50
                backoff:
                  constant: {}
                jitter:
                  from:
                    milliseconds: 20
                  to:
                    milliseconds: 60
                limit:
                  attempt:
                    count: 3
      """
    When the workflow is executed
    Then task attempt should have been retried 3 times
    And the delays between attempts of attempt should be between 70 and 110 milliseconds
    And the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
      status: 500
      """

  Scenario: A retried try list succeeds once the failure goes away
    The context is workflow state: the counter exported by an attempt survives into the next one.
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-until-success
        version: '1.0.0'
      do:
        - attempt:
            try:
              - count:
                  set:
                    attempts: ${ ($context.attempts // 0) + 1 }
                  export:
                    as: '$context + { attempts: .attempts }'
              - failTwice:
                  if: ${ $context.attempts < 3 }
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                      status: 503
            catch:
              errors:
                with:
                  status: 503
              retry:
                delay:
                  milliseconds: 20
                backoff:
                  constant: {}
                limit:
                  attempt:
                    count: 5
        - report:
            set:
              attempts: ${ $context.attempts }
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      attempts: 3
      """
    And task attempt should have been retried 2 times

  Scenario: catch.do handles each caught error, then the try runs again on its own input
    catch.do's output is not fed back: the retried attempt sees the try task's input (n: 1).
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-after-catch-do
        version: '1.0.0'
      do:
        - attempt:
            try:
              - count:
                  set:
                    attempts: ${ ($context.attempts // 0) + 1 }
                    n: ${ .n }
                  export:
                    as: '$context + { attempts: .attempts }'
              - failOnce:
                  if: ${ $context.attempts < 2 }
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                      status: 503
            catch:
              retry:
                delay:
                  milliseconds: 10
                backoff:
                  constant: {}
                limit:
                  attempt:
                    count: 3
              do:
                - handle:
                    set:
                      n: 99
                    export:
                      as: '$context + { handled: (($context.handled // 0) + 1) }'
        - report:
            set:
              attempts: ${ $context.attempts }
              handled: ${ $context.handled // 0 }
              n: ${ .n }
      """
    And the workflow input is:
      """yaml
      n: 1
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      attempts: 2
      handled: 1
      n: 1
      """
    And task attempt should have been retried 1 time

  Scenario: A retry policy whose `when` holds retries the error
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-when-true
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                      status: 503
            catch:
              retry:
                when: ${ .status == 503 }
                delay:
                  milliseconds: 10
                backoff:
                  constant: {}
                limit:
                  attempt:
                    count: 2
      """
    When the workflow is executed
    Then task attempt should have been retried 2 times
    And the workflow should fault with error:
      """yaml
      status: 503
      """

  Scenario: A retry policy whose `when` is false does not retry
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-when-false
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                      status: 400
            catch:
              retry:
                when: ${ $error.status == 503 }
                delay:
                  milliseconds: 10
                backoff:
                  constant: {}
                limit:
                  attempt:
                    count: 2
      """
    When the workflow is executed
    Then task attempt should have been retried 0 times
    And the workflow should fault with error:
      """yaml
      status: 400
      """

  Scenario: A retry policy whose `exceptWhen` holds does not retry
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-except-when
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                      status: 500
                      title: Fatal
            catch:
              retry:
                exceptWhen: ${ $error.title == "Fatal" }
                delay:
                  milliseconds: 10
                backoff:
                  constant: {}
                limit:
                  attempt:
                    count: 2
      """
    When the workflow is executed
    Then task attempt should have been retried 0 times
    And the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
      status: 500
      """

  Scenario: A reusable retry policy is referenced by name
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-reusable
        version: '1.0.0'
      use:
        retries:
          twiceQuickly:
            delay:
              milliseconds: 30
            backoff:
              constant: {}
            limit:
              attempt:
                count: 2
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                      status: 500
            catch:
              retry: twiceQuickly
      """
    When the workflow is executed
    Then task attempt should have been retried 2 times
    And the delays between attempts of attempt should be about 30, 30 milliseconds
    And the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
      status: 500
      """

  Scenario: An error the catch filter does not match is neither retried nor caught
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-unmatched
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
                      status: 400
            catch:
              errors:
                with:
                  status: 503
              retry:
                delay:
                  milliseconds: 10
                backoff:
                  constant: {}
                limit:
                  attempt:
                    count: 3
        - after:
            set:
              reached: true
      """
    When the workflow is executed
    Then task attempt should have been retried 0 times
    And task after should not have run
    And the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
      status: 400
      """

  Scenario: limit.attempt.duration bounds each attempt
    Every attempt waits far longer than its bound, so each one times out and is retried.
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-attempt-duration
        version: '1.0.0'
      do:
        - attempt:
            try:
              - slow:
                  wait:
                    seconds: 10
            catch:
              retry:
                delay:
                  milliseconds: 10
                backoff:
                  constant: {}
                limit:
                  attempt:
                    count: 2
                    duration:
                      milliseconds: 100
      """
    When the workflow is executed
    Then task attempt should have been retried 2 times
    And the run should take less than 5 seconds
    And the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
      status: 408
      instance: /do/0/attempt
      """

  Scenario: limit.duration bounds all attempts together
    Retries 100 ms apart inside a 250 ms budget: one or two fit, never many.
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-total-duration
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                      status: 503
            catch:
              retry:
                delay:
                  milliseconds: 100
                backoff:
                  constant: {}
                limit:
                  duration:
                    milliseconds: 250
      """
    When the workflow is executed
    Then task attempt should have been retried between 1 and 2 times
    And the run should take less than 5 seconds
    And the workflow should fault with error:
      """yaml
      status: 503
      """

  Scenario: An error raised in catch.do propagates at once, without a retry
    catch.do runs before the retry policy is asked, so an error it raises ends the try task.
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-catch-do-raises
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
                      status: 503
                      title: Unavailable
            catch:
              as: failure
              retry:
                delay:
                  milliseconds: 10
                backoff:
                  constant: {}
                limit:
                  attempt:
                    count: 2
              do:
                - giveUp:
                    raise:
                      error:
                        type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                        status: 502
                        title: '${ "gave up: " + $failure.title }'
      """
    When the workflow is executed
    Then task attempt should have been retried 0 times
    And the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
      status: 502
      title: 'gave up: Unavailable'
      instance: /do/0/attempt/catch/do/0/giveUp
      """

  Scenario: An exhausted retry is caught by an enclosing try
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-exhausted-outer-catch
        version: '1.0.0'
      do:
        - outer:
            try:
              - inner:
                  try:
                    - fail:
                        raise:
                          error:
                            type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
                            status: 503
                            title: Unavailable
                  catch:
                    retry:
                      delay:
                        milliseconds: 10
                      backoff:
                        constant: {}
                      limit:
                        attempt:
                          count: 2
            catch:
              as: failure
              do:
                - fallback:
                    set:
                      fallback: true
                      status: ${ $failure.status }
                      at: ${ $failure.instance }
        - after:
            set:
              fallback: ${ .fallback }
              status: ${ .status }
              at: ${ .at }
      """
    When the workflow is executed
    Then task inner should have been retried 2 times
    And task inner should have been faulted
    And the workflow should complete with output:
      """yaml
      fallback: true
      status: 503
      at: /do/0/outer/try/0/inner/try/0/fail
      """

  Scenario: A retry policy that refuses the error propagates it without a retry
    The policy's `when` sees the error as `.` and the catch variable too.
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: retry-refused-propagates
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
                      status: 422
                      title: Bad order
            catch:
              as: oops
              retry:
                when: ${ .status >= 500 and $oops.title != "Bad order" }
                limit:
                  attempt:
                    count: 5
        - after:
            set:
              reached: true
      """
    When the workflow is executed
    Then task attempt should have been retried 0 times
    And task after should not have run
    And the workflow should fault with error:
      """yaml
      status: 422
      title: Bad order
      """

  Scenario: Without a retry policy a caught error is handled and the run goes on
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: catch-without-retry
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
                      status: 503
            catch:
              errors:
                with:
                  status: 503
        - after:
            set:
              reached: true
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      reached: true
      """
