Feature: Timeouts
  A task or workflow timeout interrupts at once and raises a timeout error (type .../timeout,
  status 408) whose instance is the task that timed out; `try` can catch it, uncaught it faults.

  Scenario: A task timeout on a wait is caught by try
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: timeout-caught
        version: '1.0.0'
      do:
        - guarded:
            try:
              - slow:
                  wait:
                    seconds: 10
                  timeout:
                    after:
                      milliseconds: 100
            catch:
              errors:
                with:
                  type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
              as: late
              do:
                - record:
                    set:
                      type: ${ $late.type }
                      status: ${ $late.status }
                      instance: ${ $late.instance }
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
      status: 408
      instance: /do/0/guarded/try/0/slow
      """
    And the run should take less than 5 seconds

  Scenario: An uncaught task timeout faults the workflow
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: timeout-uncaught
        version: '1.0.0'
      do:
        - slow:
            wait: PT10S
            timeout:
              after: PT0.1S
        - after:
            set:
              reached: true
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
      status: 408
      instance: /do/0/slow
      """
    And task after should not have run
    And the run should take less than 5 seconds

  Scenario: A timeout referenced from use.timeouts applies like an inline one
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: timeout-reusable
        version: '1.0.0'
      use:
        timeouts:
          brief:
            after:
              milliseconds: 100
      do:
        - slow:
            wait:
              seconds: 10
            timeout: brief
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
      status: 408
      instance: /do/0/slow
      """
    And the run should take less than 5 seconds

  Scenario: A task that finishes before its timeout completes normally
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: timeout-not-reached
        version: '1.0.0'
      do:
        - quick:
            wait:
              milliseconds: 50
            timeout:
              after:
                seconds: 5
      """
    And given the workflow input is:
      """yaml
      kept: true
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      kept: true
      """

  Scenario: A workflow timeout interrupts a long task
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: timeout-workflow
        version: '1.0.0'
      timeout:
        after:
          milliseconds: 200
      do:
        - first:
            set:
              started: true
        - slow:
            wait:
              seconds: 10
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
      status: 408
      """
    And the run should take less than 5 seconds

  Scenario: A timeout inside a fork branch faults the fork and cancels the other branch
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: timeout-in-fork
        version: '1.0.0'
      do:
        - parallel:
            fork:
              branches:
                - patient:
                    wait:
                      seconds: 10
                - hasty:
                    wait:
                      seconds: 10
                    timeout:
                      after:
                        milliseconds: 100
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
      status: 408
      instance: /do/0/parallel/fork/branches/1/hasty
      """
    And the run should take less than 5 seconds

  Scenario: A timeout on a composite task interrupts its nested tasks
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: timeout-composite
        version: '1.0.0'
      do:
        - group:
            timeout:
              after:
                milliseconds: 150
            do:
              - short:
                  wait:
                    milliseconds: 10
              - long:
                  wait:
                    seconds: 10
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
      status: 408
      instance: /do/0/group
      """
    And the run should take less than 5 seconds
