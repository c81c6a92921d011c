Feature: Runtime variables, lifecycle events and cancellation
  $task describes the running task (name, reference, definition, raw input, startedAt);
  $workflow the run (id, definition, raw input, startedAt). Lifecycle events go to --events as
  CloudEvents, one per line. Ctrl-C or SIGTERM cancels the run: status cancelled, exit 130.

  Scenario: $task describes the running task
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: task-variable
        version: '1.0.0'
      do:
        - group:
            do:
              - describe:
                  input:
                    from: .inner
                  set:
                    name: ${ $task.name }
                    reference: ${ $task.reference }
                    isSet: ${ $task.definition | has("set") }
                    rawInput: ${ $task.input }
                    transformed: ${ . }
                    hasStart: ${ ($task.startedAt.epoch.milliseconds | type) == "number" }
      """
    And given the workflow input is:
      """yaml
      inner:
        v: 1
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      name: describe
      reference: /do/0/group/do/0/describe
      isSet: true
      rawInput:
        inner:
          v: 1
      transformed:
        v: 1
      hasStart: true
      """

  Scenario: $workflow describes the run
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: workflow-variable
        version: '1.0.0'
      do:
        - describe:
            set:
              name: ${ $workflow.definition.document.name }
              firstTask: ${ $workflow.definition.do[0] | keys[0] }
              input: ${ $workflow.input }
              hasId: ${ ($workflow.id | type) == "string" and ($workflow.id | length) > 0 }
              startedAt: ${ $workflow.startedAt.iso8601 | type }
      """
    And given the workflow input is:
      """yaml
      x: 1
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      name: workflow-variable
      firstTask: describe
      input:
        x: 1
      hasId: true
      startedAt: string
      """

  Scenario: $input in output.as is the task's transformed input
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: input-variable
        version: '1.0.0'
      do:
        - compute:
            input:
              from: .numbers
            set:
              total: ${ add }
            output:
              as: '{ total: .total, count: ($input | length) }'
      """
    And given the workflow input is:
      """yaml
      numbers: [ 1, 2, 3, 4 ]
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      total: 10
      count: 4
      """

  Scenario: Lifecycle events frame the run and every task
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: lifecycle
        version: '1.0.0'
      do:
        - first:
            set:
              a: 1
        - second:
            set:
              b: 2
      """
    When the workflow is executed
    Then the workflow should complete
    And the first event should be 'io.serverlessworkflow.workflow.started.v1'
    And the last event should be 'io.serverlessworkflow.workflow.completed.v1'
    And task first should have emitted created, started, completed in this order
    And second should run after first

  Scenario: A faulted run ends with a workflow faulted event
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: lifecycle-faulted
        version: '1.0.0'
      do:
        - fail:
            raise:
              error:
                type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
                status: 500
      """
    When the workflow is executed
    Then the workflow should fault
    And task fail should have been faulted
    And the last event should be 'io.serverlessworkflow.workflow.faulted.v1'

  Scenario: Ctrl-C cancels a running workflow
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: cancel-sigint
        version: '1.0.0'
      do:
        - pause:
            wait:
              seconds: 20
      """
    When the workflow is executed and interrupted with SIGINT 500 milliseconds after its first task started
    Then the workflow should be cancelled
    And the run should take less than 5 seconds
    And task pause should have been cancelled
    And the last event should be 'io.serverlessworkflow.workflow.cancelled.v1'

  Scenario: SIGTERM cancels a running fork and all its branches
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: cancel-sigterm
        version: '1.0.0'
      do:
        - parallel:
            fork:
              branches:
                - left:
                    wait:
                      seconds: 20
                - right:
                    wait:
                      seconds: 20
        - after:
            set:
              reached: true
      """
    When the workflow is executed and interrupted with SIGTERM 500 milliseconds after its first task started
    Then the workflow should be cancelled
    And the run should take less than 5 seconds
    And task after should not have run
