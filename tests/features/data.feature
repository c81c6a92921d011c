Feature: Data flow, context and schemas
  Order per task: `if` on the raw input, input schema, `input.from`, the task, `output.as`,
  output schema, `export.as` (on the transformed output, replacing $context), export schema.
  The initial $context is {} (decision 4). Schema violations raise a validation error (400).

  Scenario: The initial context is an empty object
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: context-initial
        version: '1.0.0'
      do:
        - look:
            set:
              context: ${ $context }
              kind: ${ $context | type }
      """
    And given the workflow input is:
      """yaml
      ignored: true
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      context: {}
      kind: object
      """

  Scenario: Exports accumulate in the context across tasks
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: context-accumulate
        version: '1.0.0'
      do:
        - first:
            set:
              value: 1
            export:
              as: '$context + { first: .value }'
        - untouched:
            set:
              value: 99
        - second:
            set:
              value: 2
            export:
              as: '$context + { second: .value }'
        - report:
            set:
              context: ${ $context }
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      context:
        first: 1
        second: 2
      """

  Scenario: Export sees the transformed output and $output
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: context-export-output
        version: '1.0.0'
      do:
        - produce:
            set:
              raw: 5
            output:
              as: '{ doubled: (.raw * 2) }'
            export:
              as: '{ fromDot: .doubled, fromOutput: $output.doubled }'
        - report:
            set:
              context: ${ $context }
              input: ${ . }
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      context:
        fromDot: 10
        fromOutput: 10
      input:
        doubled: 10
      """

  Scenario: An exported object may replace the whole context and nested tasks see it
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: context-nested
        version: '1.0.0'
      do:
        - seed:
            set:
              token: abc
            export:
              as:
                token: ${ .token }
        - group:
            do:
              - inner:
                  set:
                    seen: ${ $context.token }
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      seen: abc
      """

  Scenario: Workflow input.from filters the input while $workflow.input keeps the raw input
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: workflow-input-from
        version: '1.0.0'
      input:
        from: .payload
      do:
        - look:
            set:
              filtered: ${ . }
              raw: ${ $workflow.input }
      """
    And given the workflow input is:
      """yaml
      payload:
        n: 1
      noise: x
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      filtered:
        n: 1
      raw:
        payload:
          n: 1
        noise: x
      """

  Scenario: Workflow output.as transforms the last task's output
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: workflow-output-as
        version: '1.0.0'
      output:
        as: .items | length
      do:
        - build:
            set:
              items: [a, b, c]
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      3
      """

  Scenario: Non-object values flow between tasks
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: non-object-flow
        version: '1.0.0'
      do:
        - list:
            set: '${ [ 1, 2, 3 ] }'
        - count:
            set: '${ length }'
        - double:
            set: '${ . * 2 }'
        - label:
            set: '${ "total: \(.)" }'
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      'total: 6'
      """

  Scenario: A scalar workflow input reaches the first task unchanged
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: scalar-input
        version: '1.0.0'
      do:
        - increment:
            set: '${ . + 1 }'
      """
    And given the workflow input is:
      """yaml
      41
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      42
      """

  Scenario: Workflow input that violates the input schema faults with a validation error
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: workflow-input-schema
        version: '1.0.0'
      input:
        schema:
          document:
            type: object
            required: [ name ]
            properties:
              name:
                type: string
      do:
        - greet:
            set:
              greeting: ${ "hello \(.name)" }
      """
    And given the workflow input is:
      """yaml
      name: 42
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
      status: 400
      """
    And task greet should not have run

  Scenario: Workflow input that satisfies the input schema runs
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: workflow-input-schema-ok
        version: '1.0.0'
      input:
        schema:
          document:
            type: object
            required: [ name ]
      do:
        - greet:
            set:
              greeting: ${ "hello \(.name)" }
      """
    And given the workflow input is:
      """yaml
      name: Ada
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      greeting: hello Ada
      """

  Scenario: A task input schema is checked against the raw task input, before input.from
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: task-input-schema
        version: '1.0.0'
      do:
        - prepare:
            set:
              count: three
        - check:
            input:
              schema:
                document:
                  type: object
                  properties:
                    count:
                      type: integer
              from: '{ count: 3 }'
            set:
              ok: true
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
      status: 400
      instance: /do/1/check
      """

  Scenario: A task output schema is checked against the transformed output
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: task-output-schema
        version: '1.0.0'
      do:
        - produce:
            set:
              value: 7
            output:
              as: .value
              schema:
                document:
                  type: object
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
      status: 400
      instance: /do/0/produce
      """

  Scenario: A transformed output that satisfies the output schema passes
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: task-output-schema-ok
        version: '1.0.0'
      do:
        - produce:
            set:
              value: 7
            output:
              as: .value | tostring
              schema:
                document:
                  type: string
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      '7'
      """

  Scenario: A workflow output schema is checked after output.as
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: workflow-output-schema
        version: '1.0.0'
      output:
        as: .value
        schema:
          document:
            type: object
      do:
        - produce:
            set:
              value: 7
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
      status: 400
      """

  Scenario: An export schema is checked against the new context
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: export-schema
        version: '1.0.0'
      do:
        - produce:
            set:
              value: 7
            export:
              as: '{ wrapped: .value }'
              schema:
                document:
                  type: object
                  required: [ value ]
      """
    When the workflow is executed
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
      status: 400
      instance: /do/0/produce
      """

  Scenario: Exports inside a for body accumulate across iterations
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: context-in-loop
        version: '1.0.0'
      do:
        - loop:
            for:
              in: '[ 1, 2, 3 ]'
            do:
              - add:
                  set:
                    item: ${ $item }
                  export:
                    as: '$context + { sum: (($context.sum // 0) + .item) }'
        - report:
            set:
              sum: ${ $context.sum }
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      sum: 6
      """

  Scenario: input.from may be an object whose leaves are expressions
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: input-from-object
        version: '1.0.0'
      do:
        - shape:
            input:
              from:
                who: ${ .user.name }
                fixed: literal
            set:
              greeting: ${ "\(.fixed) \(.who)" }
      """
    And given the workflow input is:
      """yaml
      user:
        name: Ada
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      greeting: literal Ada
      """

  Scenario: output.as on a composite task transforms the output of its last subtask
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: composite-output
        version: '1.0.0'
      do:
        - group:
            do:
              - one:
                  set:
                    values: [ 1 ]
              - two:
                  set:
                    values: ${ .values + [ 2 ] }
            output:
              as: .values
        - after:
            set:
              received: ${ . }
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      received: [ 1, 2 ]
      """
