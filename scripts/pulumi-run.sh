#!/usr/bin/env bash
# Runs `pulumi ARGS...` with its output sized for people (ops/fold.ts): the first real error first, the knock-on
# errors of a failed or interrupted run ("grpc: the client connection is closing", "context canceled") and the
# managedFields of refreshed objects folded into one summary line. The whole output, unfolded, is kept in
# $MESH_TENANCY_PULUMI_LOG (default: a new file under $TMPDIR), which the summary line names. Exits with pulumi's status.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log=${MESH_TENANCY_PULUMI_LOG:-$(mktemp "${TMPDIR:-/tmp}/pulumi-XXXXXX.log")}
pulumi "$@" 2>&1 | tee "$log" | TS_NODE_PROJECT="$root/tsconfig.json" node -r "$root/node_modules/ts-node/register/transpile-only" "$root/ops/cli.ts" fold --log "$log"
status=("${PIPESTATUS[@]}")
[ "${status[1]}" -eq 0 ] && [ "${status[2]}" -eq 0 ] || echo "pulumi-run: the output filter failed; the whole output is in $log" >&2
exit "${status[0]}"
