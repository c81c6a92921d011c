Feature: Raising, catching and locating errors
  Errors are problem details; `instance` is the JSON pointer of the task that raised the error,
  through every nesting level. A catch binds the error to $error, or to the name given by `as`;
  `when` must hold and `exceptWhen` must not for the error to be caught. A catch filter's type
  also matches the legacy spelling .../dsl/errors/types/<kind> (decision 5).

  Scenario: raise uses a reusable error from use.errors
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: raise-reusable
        version: '1.0.0'
      use:
        errors:
          notFound:
            type: https://example.com/errors/not-found
            status: 404
            title: Not Found
            detail: The thing is gone
      do:
        - lookup:
            raise:
              error: notFound
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://example.com/errors/not-found
      status: 404
      title: Not Found
      detail: The thing is gone
      instance: /do/0/lookup
      """

  Scenario: raise evaluates expressions in title and detail
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: raise-expressions
        version: '1.0.0'
      do:
        - reject:
            raise:
              error:
                type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
                status: 400
                title: ${ "Bad order \(.orderId)" }
                detail: ${ "quantity \(.quantity) is not positive" }
      """
    And given the workflow input is:
      """yaml
      orderId: A7
      quantity: -2
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
      status: 400
      title: Bad order A7
      detail: quantity -2 is not positive
      instance: /do/0/reject
      """
    And the exit code should be 1

  Scenario: A caught error is bound to $error by default
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: catch-default-variable
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                      status: 500
                      title: Boom
            catch:
              do:
                - handle:
                    set:
                      title: ${ $error.title }
                      instance: ${ $error.instance }
        - after:
            set:
              handled: ${ .title }
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      handled: Boom
      """
    And after should run after handle

  Scenario: catch as names the error variable
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: catch-as
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                      status: 500
                      title: Boom
            catch:
              as: oops
              do:
                - handle:
                    set:
                      title: ${ $oops.title }
                      status: ${ $oops.status }
                      instance: ${ $oops.instance }
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      title: Boom
      status: 500
      instance: /do/0/attempt/try/0/fail
      """

  Scenario: A catch whose when is false does not catch
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: catch-when-false
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
              when: ${ $error.status == 404 }
              do:
                - handle:
                    set:
                      handled: true
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      status: 500
      instance: /do/0/attempt/try/0/fail
      """
    And task handle should not have run

  Scenario: A catch whose exceptWhen holds does not catch
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: catch-except-when
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
              exceptWhen: ${ $error.status >= 500 }
              do:
                - handle:
                    set:
                      handled: true
      """
    When the workflow is executed
    Then the workflow should fault
    And task handle should not have run

  Scenario: A catch filter with the legacy error type spelling matches the standard type
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: catch-legacy-type
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
              errors:
                with:
                  type: https://serverlessworkflow.io/dsl/errors/types/runtime
              do:
                - handle:
                    set:
                      handled: true
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      handled: true
      """

  Scenario: The instance of an error raised in a for body inside a do names every level
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: instance-for-in-do
        version: '1.0.0'
      do:
        - group:
            do:
              - prepare:
                  set:
                    items: [ 1, 2, 3 ]
              - loop:
                  for:
                    in: .items
                  do:
                    - check:
                        if: ${ $item == 2 }
                        raise:
                          error:
                            type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                            status: 500
                            detail: item 2
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      detail: item 2
      """
    And the error instance should be '/do/0/group/do/1/loop/do/0/check'

  Scenario: The instance of an uncaught error inside try inside a for inside a try
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: instance-try-for-try
        version: '1.0.0'
      do:
        - outer:
            try:
              - loop:
                  for:
                    each: n
                    in: '[ 1 ]'
                  do:
                    - inner:
                        try:
                          - explode:
                              raise:
                                error:
                                  type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                                  status: 500
                        catch:
                          errors:
                            with:
                              status: 404
            catch:
              errors:
                with:
                  status: 403
      """
    When the workflow is executed
    Then the workflow should fault
    And the error instance should be '/do/0/outer/try/0/loop/do/0/inner/try/0/explode'

  Scenario: The instance of an error raised inside catch.do points into the catch
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: instance-catch-do
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
              do:
                - rethrow:
                    raise:
                      error:
                        type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
                        status: 502
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
      status: 502
      """
    And the error instance should be '/do/0/attempt/catch/do/0/rethrow'

  Scenario: The instance of an error raised in a fork branch
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: instance-fork
        version: '1.0.0'
      do:
        - both:
            fork:
              branches:
                - fine:
                    set:
                      ok: true
                - broken:
                    do:
                      - explode:
                          raise:
                            error:
                              type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                              status: 500
      """
    When the workflow is executed
    Then the workflow should fault
    And the error instance should be '/do/0/both/fork/branches/1/broken/do/0/explode'

  Scenario: A jq runtime error faults with an expression error
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: expression-error
        version: '1.0.0'
      do:
        - compute:
            set:
              sum: ${ .a + .b }
      """
    And given the workflow input is:
      """yaml
      a: 1
      b: two
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
      status: 400
      instance: /do/0/compute
      """

  Scenario: A jq error inside an if still faults with an expression error
    Truthiness (decision 13) applies to the value; an expression that fails is still a fault.
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: failing-if
        version: '1.0.0'
      do:
        - guarded:
            if: ${ .name + 1 }
            set:
              ran: true
      """
    And given the workflow input is:
      """yaml
      name: Ada
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
      status: 400
      instance: /do/0/guarded
      """

  Scenario: A document with an unknown then target is rejected before running
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: invalid-target
        version: '1.0.0'
      do:
        - start:
            set:
              a: 1
            then: nowhere
      """
    When the workflow is executed
    Then the exit code should be 3
    And the run should be refused as invalid with the diagnostics of validate

  Scenario: A duration in months is rejected before running (decision 7)
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: month-duration
        version: '1.0.0'
      do:
        - pause:
            wait: P1M
      """
    When the workflow is executed
    Then the exit code should be 3
    And the run should be refused as invalid with the diagnostics of validate

  Scenario: An old states-based document is rejected before running (decision 1)
    Given a workflow with definition:
      """yaml
      id: greeting
      version: '1.0'
      specVersion: '0.8'
      name: Greeting
      start: Greet
      states:
        - name: Greet
          type: inject
          data:
            greeting: Hello
          end: true
      """
    When the workflow is executed
    Then the exit code should be 3
