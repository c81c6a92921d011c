Feature: Semantics shared with the reference implementation
  Decisions 2, 12, 13, 15 and 16 of the project, and the refusals that go with them: `.` in catch
  and retry conditions is the error; conditions follow jq truthiness; the 1.0.0 map form of
  process arguments validates; keys the schema tolerates but nothing reads get a warning; a catch
  filter's type matches the renamed specification's URIs; an empty shell command is refused.

  Scenario: In catch.when, `.` is the caught error and $error is bound too (decision 12)
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: catch-when-dot
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
                      status: 404
                      title: Not Found
            catch:
              when: ${ .status == 404 and $error.title == "Not Found" }
              exceptWhen: ${ .title == "Gone" }
              do:
                - handle:
                    set:
                      status: ${ $error.status }
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      status: 404
      """

  Scenario: A catch.when on the error that does not hold lets the error through (decision 12)
    Before decision 12, `.` was the try task's input: `.status` was null there and this faulted
    with an expression error instead.
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: catch-when-dot-false
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
                      status: 500
            catch:
              when: ${ .status == 404 }
              do:
                - handle:
                    set:
                      handled: true
      """
    And the workflow input is:
      """yaml
      status: 404
      """
    When the workflow is executed
    Then task handle should not have run
    And the workflow should fault with error:
      """yaml
      status: 500
      """

  Scenario: An if on a missing field skips the task instead of faulting (decision 13)
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: truthy-if-null
        version: '1.0.0'
      do:
        - maybe:
            if: .enabled
            set:
              ran: true
      """
    And the workflow input is:
      """yaml
      name: Ada
      """
    When the workflow is executed
    Then task maybe should have been skipped
    And the workflow should complete with output:
      """yaml
      name: Ada
      """

  Scenario: An if on any value other than null and false runs the task (decision 13)
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: truthy-if-values
        version: '1.0.0'
      do:
        - zero:
            if: ${ .count }
            set:
              name: ${ .name }
              zero: true
        - empty:
            if: ${ .name }
            set:
              zero: ${ .zero }
              empty: true
        - off:
            if: ${ .disabled }
            set:
              wrong: true
      """
    And the workflow input is:
      """yaml
      count: 0
      name: ''
      """
    When the workflow is executed
    Then task off should have been skipped
    And the workflow should complete with output:
      """yaml
      zero: true
      empty: true
      """

  Scenario: switch and while treat null as false (decision 13)
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: truthy-switch-while
        version: '1.0.0'
      do:
        - pick:
            switch:
              - missing:
                  when: .missing
                  then: wrong
              - present:
                  when: .items
                  then: loop
        - wrong:
            set:
              wrong: true
            then: end
        - loop:
            for:
              in: ${ .items }
              each: item
            while: ${ if $item < 3 then true else null end }
            do:
              - add:
                  set:
                    items: ${ .items }
                    sum: ${ (.sum // 0) + $item }
      """
    And the workflow input is:
      """yaml
      items: [1, 2, 3, 4]
      """
    When the workflow is executed
    Then task wrong should not have run
    And the workflow should complete with output:
      """yaml
      items: [1, 2, 3, 4]
      sum: 3
      """

  Scenario: for.in evaluating to null iterates zero times (decision 13)
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: for-in-null
        version: '1.0.0'
      do:
        - loop:
            for:
              in: .missing
            do:
              - body:
                  set:
                    wrong: true
      """
    And the workflow input is:
      """yaml
      kept: 1
      """
    When the workflow is executed
    Then task body should not have run
    And the workflow should complete with output:
      """yaml
      kept: 1
      """

  Scenario: for.in evaluating to a string is still an expression error
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: for-in-string
        version: '1.0.0'
      do:
        - loop:
            for:
              in: .name
            do:
              - body:
                  set:
                    wrong: true
      """
    And the workflow input is:
      """yaml
      name: Ada
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
      instance: /do/0/loop
      """

  Scenario: A catch filter matches the renamed specification's error type (decision 16)
    Raised errors keep the serverlessworkflow.io URI; the filter's spelling only has to name the
    same kind.
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: catch-renamed-type
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
                  type: https://open-workflow-specification.org/spec/1.0.0/errors/communication
              do:
                - handle:
                    set:
                      type: ${ $error.type }
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
      """

  Scenario: A renamed error type of another kind does not match (decision 16)
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: catch-renamed-type-other-kind
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
                  type: https://open-workflow-specification.org/spec/1.0.0/errors/timeout
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
      status: 503
      """

  Scenario: The 1.0.0 map form of shell arguments validates and runs (decision 2)
    Each entry is one argv item `key=value`; a null value gives the key alone.
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.0'
        namespace: conformance
        name: shell-arguments-map
        version: '1.0.0'
      do:
        - list:
            run:
              shell:
                command: printf '%s|' "$@"
                arguments:
                  --verbose: null
                  name: ${ .name }
      """
    And the workflow input is:
      """yaml
      name: Ada Lovelace
      """
    When the workflow is validated
    Then validation should pass without warnings
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      '--verbose|name=Ada Lovelace|'
      """

  Scenario: Shell arguments that are neither a list of strings nor a map are rejected
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: shell-arguments-string
        version: '1.0.0'
      do:
        - list:
            run:
              shell:
                command: ls
                arguments: --verbose
      """
    When the workflow is executed
    Then the exit code should be 3
    And the run should be refused as invalid with the diagnostics of validate

  Scenario: A catch filter's `detail` gets a did-you-mean warning (decision 15)
    The filter has no `detail` property, so it would catch every 503, whatever its details.
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: near-miss-detail
        version: '1.0.0'
      do:
        - attempt:
            try:
              - fail:
                  raise:
                    error:
                      type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
                      status: 503
                      detail: maintenance
            catch:
              errors:
                with:
                  status: 503
                  detail: overload
      """
    When the workflow is validated
    Then validation should pass with a 'keys::near-miss' warning at '/do/0/attempt/catch/errors/with/detail' suggesting 'did you mean `details`?'
    When the workflow is executed
    Then the workflow should complete

  Scenario: Filter properties outside `with`, event attribute and correlation typos are warned (decision 15)
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: near-miss-others
        version: '1.0.0'
      do:
        - attempt:
            try:
              - send:
                  emit:
                    event:
                      with:
                        source: https://example.com/orders
                        type: com.example.order.placed
                        datacontentype: application/json
                        tenant: acme
            catch:
              errors:
                status: 503
        - wait:
            listen:
              to:
                one:
                  with:
                    type: com.example.order.paid
                  correlate:
                    order:
                      from: ${ .data.id }
                      expected: ${ .id }
      """
    When the workflow is validated
    Then validation should pass with a 'keys::near-miss' warning at '/do/0/attempt/catch/errors/status' suggesting 'under `with`'
    And validation should pass with a 'keys::near-miss' warning at '/do/0/attempt/try/0/send/emit/event/with/datacontentype' suggesting 'did you mean `datacontenttype`?'
    And validation should pass with a 'keys::near-miss' warning at '/do/1/wait/listen/to/one/correlate/order/expected' suggesting 'did you mean `expect`?'

  Scenario: Correctly spelled keys and extension attributes get no warning (decision 15)
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: near-miss-none
        version: '1.0.0'
      do:
        - attempt:
            try:
              - send:
                  emit:
                    event:
                      with:
                        source: https://example.com/orders
                        type: com.example.order.placed
                        datacontenttype: application/json
                        tenant: acme
            catch:
              errors:
                with:
                  status: 503
                  details: overload
              when: ${ .status == 503 }
      """
    When the workflow is validated
    Then validation should pass without warnings

  Scenario: An empty shell command is warned about and refused with a configuration error
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: empty-shell-command
        version: '1.0.0'
      do:
        - nothing:
            run:
              shell:
                command: '  '
      """
    When the workflow is validated
    Then validation should pass with a 'run::empty-command' warning at '/do/0/nothing/run/shell/command'
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/configuration
      instance: /do/0/nothing
      """

  Scenario: A non-empty shell command runs without a warning
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: non-empty-shell-command
        version: '1.0.0'
      do:
        - greet:
            run:
              shell:
                command: printf hello
      """
    When the workflow is validated
    Then validation should pass without warnings
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      hello
      """

  Scenario: run --format json on an invalid document prints one object with the diagnostics
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: invalid-run-json
        version: '1.0.0'
      do:
        - first:
            set:
              a: 1
            thne: end
      """
    When the workflow is executed
    Then the run should be refused as invalid with the diagnostics of validate
