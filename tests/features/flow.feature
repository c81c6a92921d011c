Feature: Flow directives, conditions and the step budget
  `exit` completes the current task list and resumes after it; `end` ends the whole workflow;
  a task name jumps within the same list, backwards too. `if` is evaluated on the raw input and
  a false condition skips the task, whose output is then its input. A switch with no matching
  case and no default falls through to its own `then`. A runaway loop hits the step budget.

  Scenario: then exit leaves only the inner list
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: exit-nested
        version: '1.0.0'
      do:
        - outer:
            do:
              - a:
                  set:
                    steps: ${ .steps + [ "a" ] }
                  then: exit
              - b:
                  set:
                    steps: ${ .steps + [ "b" ] }
        - after:
            set:
              steps: ${ .steps + [ "after" ] }
      """
    And given the workflow input is:
      """yaml
      steps: []
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      steps: [ a, after ]
      """
    And task b should not have run
    And after should run last

  Scenario: then exit two levels deep leaves one level only
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: exit-deep
        version: '1.0.0'
      do:
        - level1:
            do:
              - level2:
                  do:
                    - leave:
                        set:
                          steps: ${ .steps + [ "leave" ] }
                        then: exit
                    - skipped:
                        set:
                          steps: ${ .steps + [ "skipped" ] }
              - resumed:
                  set:
                    steps: ${ .steps + [ "resumed" ] }
        - top:
            set:
              steps: ${ .steps + [ "top" ] }
      """
    And given the workflow input is:
      """yaml
      steps: []
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      steps: [ leave, resumed, top ]
      """

  Scenario: then exit in the top-level list completes the workflow
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: exit-top
        version: '1.0.0'
      do:
        - only:
            set:
              done: true
            then: exit
        - never:
            set:
              done: false
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      done: true
      """
    And task never should not have run

  Scenario: then end inside a nested list ends the whole workflow
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: end-nested
        version: '1.0.0'
      do:
        - outer:
            do:
              - stop:
                  set:
                    stoppedAt: stop
                  then: end
              - sibling:
                  set:
                    stoppedAt: sibling
        - after:
            set:
              stoppedAt: after
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      stoppedAt: stop
      """
    And task sibling should not have run
    And task after should not have run

  Scenario: A backward then jump loops until a counter is reached
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: backward-jump
        version: '1.0.0'
      do:
        - init:
            set:
              count: 0
        - increment:
            set:
              count: ${ .count + 1 }
        - check:
            switch:
              - again:
                  when: .count < 5
                  then: increment
              - done:
                  then: continue
        - finish:
            set:
              total: ${ .count }
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      total: 5
      """
    And finish should run last

  Scenario: A then cycle that never ends hits the step budget
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: runaway
        version: '1.0.0'
      do:
        - spin:
            set:
              n: ${ (.n // 0) + 1 }
            then: spin
      """
    When the workflow is executed with --max-steps 1000
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
      """
    And the run should take less than 10 seconds

  Scenario: A for loop longer than the step budget faults
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: runaway-for
        version: '1.0.0'
      do:
        - loop:
            for:
              in: '[ range(0; 100000) ]'
            do:
              - add:
                  set:
                    total: ${ (.total // 0) + $item }
      """
    When the workflow is executed with --max-steps 1000
    Then the workflow should fault with error:
      """yaml
      type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
      """

  Scenario: A bounded loop well within the step budget completes
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: bounded-loop
        version: '1.0.0'
      do:
        - increment:
            set:
              count: ${ (.count // 0) + 1 }
        - check:
            switch:
              - again:
                  when: .count < 20
                  then: increment
      """
    When the workflow is executed with --max-steps 1000
    Then the workflow should complete with output:
      """yaml
      count: 20
      """

  Scenario: A false if skips the task and passes its input through
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: if-skip
        version: '1.0.0'
      do:
        - maybe:
            if: .enabled
            set:
              replaced: true
        - always:
            set:
              enabled: ${ .enabled }
              replaced: ${ .replaced // false }
      """
    And given the workflow input is:
      """yaml
      enabled: false
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      enabled: false
      replaced: false
      """
    And task maybe should have been skipped

  Scenario: if sees the raw input, before input.from
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: if-raw-input
        version: '1.0.0'
      do:
        - guarded:
            if: .flag
            input:
              from: .payload
            set:
              ran: true
              payload: ${ . }
      """
    And given the workflow input is:
      """yaml
      flag: true
      payload:
        x: 1
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      ran: true
      payload:
        x: 1
      """

  Scenario: A switch with no match and no default continues with the next task
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: switch-fall-through
        version: '1.0.0'
      do:
        - route:
            switch:
              - red:
                  when: .color == "red"
                  then: paintRed
        - next:
            set:
              color: ${ .color }
              visited: next
            then: end
        - paintRed:
            set:
              visited: paintRed
      """
    And given the workflow input is:
      """yaml
      color: green
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      color: green
      visited: next
      """
    And task paintRed should not have run

  Scenario: A switch with no match follows the switch task's own then
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: switch-own-then
        version: '1.0.0'
      do:
        - route:
            switch:
              - red:
                  when: .color == "red"
                  then: paintRed
            then: fallback
        - paintRed:
            set:
              visited: paintRed
            then: end
        - fallback:
            set:
              visited: fallback
      """
    And given the workflow input is:
      """yaml
      color: blue
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      visited: fallback
      """
    And task paintRed should not have run

  Scenario: A then jump inside a nested list loops within that list
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: nested-jump
        version: '1.0.0'
      do:
        - group:
            do:
              - bump:
                  set:
                    n: ${ (.n // 0) + 1 }
              - again:
                  switch:
                    - more:
                        when: .n < 3
                        then: bump
        - after:
            set:
              final: ${ .n }
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      final: 3
      """
