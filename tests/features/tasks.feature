Feature: for, fork, wait and set
  `for` chains iterations (each one's output is the next one's input) with `each`/`at` naming
  the variables (defaults $item/$index) and `while` stopping the loop. `fork` runs branches
  concurrently; its output is the array of branch outputs in declaration order, or with
  `compete: true` the first finisher's output, the other branches being cancelled. `wait`
  accepts ISO 8601 and inline durations and outputs its input. `set` may be one expression.

  Scenario: for with each and at names its variables
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: for-each-at
        version: '1.0.0'
      do:
        - loop:
            for:
              each: fruit
              at: position
              in: .fruits
            do:
              - append:
                  set:
                    seen: ${ .seen + [ "\($position):\($fruit)" ] }
      """
    And given the workflow input is:
      """yaml
      fruits: [ apple, pear, plum ]
      seen: []
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      seen: [ '0:apple', '1:pear', '2:plum' ]
      """

  Scenario: for defaults its variables to $item and $index
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: for-defaults
        version: '1.0.0'
      do:
        - loop:
            for:
              in: '[ 10, 20, 30 ]'
            do:
              - add:
                  set:
                    total: ${ (.total // 0) + $item * $index }
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      total: 80
      """

  Scenario: for with while stops once the condition fails
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: for-while
        version: '1.0.0'
      do:
        - loop:
            for:
              each: n
              at: i
              in: .numbers
            while: (.sum // 0) < 6
            do:
              - add:
                  set:
                    sum: ${ (.sum // 0) + $n }
                    last: ${ $i }
      """
    And given the workflow input is:
      """yaml
      numbers: [ 1, 2, 3, 4, 5 ]
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      sum: 6
      last: 2
      """

  Scenario: fork output lists branch outputs in declaration order, not finishing order
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: fork-order
        version: '1.0.0'
      do:
        - parallel:
            fork:
              branches:
                - slow:
                    do:
                      - pause:
                          wait:
                            milliseconds: 200
                      - mark:
                          set:
                            branch: slow
                            input: ${ .n }
                - fast:
                    set:
                      branch: fast
                      input: ${ .n }
      """
    And given the workflow input is:
      """yaml
      n: 7
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      - branch: slow
        input: 7
      - branch: fast
        input: 7
      """

  Scenario: fork branches run concurrently
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: fork-concurrent
        version: '1.0.0'
      do:
        - parallel:
            fork:
              branches:
                - one:
                    wait:
                      milliseconds: 3000
                - two:
                    wait:
                      milliseconds: 3000
                - three:
                    wait:
                      milliseconds: 3000
      """
    When the workflow is executed
    Then the workflow should complete
    And the run should take at least 3000 milliseconds
    And the run should take less than 7 seconds

  Scenario: fork compete returns the fast branch and cancels the slow one
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: fork-compete
        version: '1.0.0'
      do:
        - race:
            fork:
              compete: true
              branches:
                - tortoise:
                    do:
                      - crawl:
                          wait:
                            seconds: 10
                      - arrive:
                          set:
                            winner: tortoise
                - hare:
                    set:
                      winner: hare
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      winner: hare
      """
    And the run should take less than 5 seconds
    And task tortoise should have been cancelled
    And task arrive should not have run

  Scenario: wait accepts an ISO 8601 duration and outputs its input
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: wait-iso
        version: '1.0.0'
      do:
        - pause:
            wait: PT0.3S
      """
    And given the workflow input is:
      """yaml
      unchanged: [ 1, 2 ]
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      unchanged: [ 1, 2 ]
      """
    And the run should take at least 300 milliseconds
    And the run should take less than 5 seconds

  Scenario: wait accepts an inline duration with several units
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: wait-inline
        version: '1.0.0'
      do:
        - pause:
            wait:
              seconds: 0
              milliseconds: 300
        - after:
            set:
              waited: true
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      waited: true
      """
    And the run should take at least 300 milliseconds
    And the run should take less than 5 seconds

  Scenario: set with a single expression replaces the whole output
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: set-expression
        version: '1.0.0'
      do:
        - reshape:
            set: '${ { name: .user.first, tags: (.user.tags | sort) } }'
      """
    And given the workflow input is:
      """yaml
      user:
        first: Ada
        tags: [ z, a ]
      other: dropped
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      name: Ada
      tags: [ a, z ]
      """

  Scenario: set replaces its input rather than merging into it
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: set-replaces
        version: '1.0.0'
      do:
        - only:
            set:
              kept: ${ .a }
              literal: '.a is not an expression here'
      """
    And given the workflow input is:
      """yaml
      a: 1
      b: 2
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      kept: 1
      literal: .a is not an expression here
      """

  Scenario: wait accepts an expression that yields an ISO 8601 duration
    Given a workflow with definition:
      """yaml
      document:
        dsl: '1.0.3'
        namespace: conformance
        name: wait-expression
        version: '1.0.0'
      do:
        - pause:
            wait: ${ "PT0.\(.tenths)S" }
      """
    And given the workflow input is:
      """yaml
      tenths: 3
      """
    When the workflow is executed
    Then the workflow should complete with output:
      """yaml
      tenths: 3
      """
    And the run should take at least 300 milliseconds
    And the run should take less than 5 seconds
