#!/usr/bin/env bash
# Benchmark of runs on Temporal (a script: the runs need a dev server, workers and clients as
# separate processes, which a cargo bench harness would only wrap).
#
#   1. per-task overhead: a 100-task `run: shell` workflow locally, then on Temporal with one
#      worker;
#   2. throughput: 200 one-task runs submitted with `--detach`, until all are completed, with one
#      worker, then with two.
#
# Usage: benches/temporal.sh [TASKS] [RUNS]   (defaults 100 and 200)
# Env: WORKFLOW_BIN (default target/debug/workflow; build it first), WORKFLOW_TEMPORAL_CLI
# (default ~/.cache/workflow-temporal/temporal, which `bash .ci/services` unpacks).
# It starts its own dev server on a free port and kills everything it started on exit.
set -euo pipefail

TASKS=${1:-100}
RUNS=${2:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${WORKFLOW_BIN:-$ROOT/target/debug/workflow}
CLI=${WORKFLOW_TEMPORAL_CLI:-$HOME/.cache/workflow-temporal/temporal}

if [ ! -x "$CLI" ]; then
    echo "SKIPPED: no Temporal CLI at $CLI (run \`bash .ci/services\` or set WORKFLOW_TEMPORAL_CLI)" >&2
    exit 0
fi
if [ ! -x "$BIN" ]; then
    echo "error: no workflow binary at $BIN (cargo build, or set WORKFLOW_BIN)" >&2
    exit 2
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ADDRESS=127.0.0.1:$PORT
"$CLI" server start-dev --ip 127.0.0.1 --port "$PORT" --headless \
    --db-filename "$WORK/temporal.db" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do
    "$CLI" operator namespace describe --namespace default --address "$ADDRESS" >/dev/null 2>&1 && break
    sleep 0.2
done

worker() { # QUEUE
    "$BIN" worker --temporal "$ADDRESS" --task-queue "$1" >/dev/null 2>&1 &
    PIDS+=($!)
}

completed() { # QUEUE-PREFIXED COUNT QUERY
    "$CLI" workflow count --address "$ADDRESS" \
        --query "TaskQueue = '$1' AND ExecutionStatus = 'Completed'" 2>/dev/null |
        grep -o '[0-9]\+' | head -1
}

# 1. Per-task overhead.
{
    echo "document: {dsl: '1.0.0', namespace: bench, name: tasks, version: '0.1.0'}"
    echo "do:"
    for n in $(seq 1 "$TASKS"); do
        printf "  - t%d:\n      run:\n        shell:\n          command: 'echo %d'\n" "$n" "$n"
    done
} >"$WORK/tasks.yaml"
start=$(now)
"$BIN" run "$WORK/tasks.yaml" --progress none --state-dir "$WORK/state" >/dev/null 2>&1
local_s=$(since "$start")
worker overhead
start=$(now)
"$BIN" run "$WORK/tasks.yaml" --temporal "$ADDRESS" --task-queue overhead --progress none >/dev/null
temporal_s=$(since "$start")
per_task_ms=$(echo "($temporal_s - $local_s) * 1000 / $TASKS" | bc)
printf '%d tasks: local %.2f s, Temporal (1 worker) %.2f s: %s ms overhead per task\n' \
    "$TASKS" "$local_s" "$temporal_s" "$per_task_ms"

# 2. Throughput, with 1 then 2 workers (a queue each).
cat >"$WORK/short.yaml" <<'EOF'
document: {dsl: '1.0.0', namespace: bench, name: short, version: '0.1.0'}
do:
  - say:
      run:
        shell:
          command: 'echo hi'
EOF
for workers in 1 2; do
    queue=throughput$workers
    for _ in $(seq 1 "$workers"); do worker "$queue"; done
    start=$(now)
    # Eight clients at a time, each retried: 200 at once only measure the dev server's
    # start-up hiccups ("namespace not found" under load).
    export BIN ADDRESS queue WORK
    seq 1 "$RUNS" | xargs -P 8 -I{} sh -c '
        for attempt in 1 2 3 4 5; do
            "$BIN" run "$WORK/short.yaml" --temporal "$ADDRESS" --task-queue "$queue" \
                --detach --progress none >/dev/null 2>&1 && exit 0
            sleep 0.5
        done
        echo "error: run {} could not be submitted" >&2; exit 1'
    submitted=$(since "$start")
    deadline=$(( $(date +%s) + 900 ))
    while :; do
        done_count=$(completed "$queue")
        [ "${done_count:-0}" -ge "$RUNS" ] && break
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "error: only ${done_count:-0} of $RUNS runs completed in 900 s" >&2
            exit 1
        fi
        sleep 0.5
    done
    took=$(since "$start")
    printf '%d one-task runs, %d worker(s): submitted in %.1f s, all completed after %.1f s (%.1f runs/s)\n' \
        "$RUNS" "$workers" "$submitted" "$took" "$(echo "$RUNS / $took" | bc -l)"
done
