#!/usr/bin/env bash
# Runs `pulumi ARGS...` with its output sized for people (ops/fold.ts): the first real error first, the knock-on
# errors of a failed or interrupted run ("grpc: the client connection is closing", "context canceled") and the
# managedFields of refreshed objects folded into one summary line. The whole output, unfolded, is kept in
# $MESH_TENANCY_PULUMI_LOG (default: a new file under $TMPDIR), which the summary line names. Exits with pulumi's status.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log=${MESH_TENANCY_PULUMI_LOG:-$(mktemp "${TMPDIR:-/tmp}/pulumi-XXXXXX.log")}
# How the run's processes are tuned for a large stack (docs/scaling.md; BENCHMARKS.md), each unless already set:
# Go's collector in the CLI and the Go plugins it starts (provider, language host) runs when the heap has grown by
# 400% instead of 100%: a sixth less CPU for a no-op update of a large stack, for about a third more memory.
export GOGC=${GOGC:-400}
# The engine asks the provider for each resource's diff without holding up the next resource's steps (an engine
# option, tested by Pulumi's lifecycle tests, off by default): a tenth off a no-op update of a large stack.
export PULUMI_PARALLEL_DIFF=${PULUMI_PARALLEL_DIFF:-true}
# Node.js keeps the compiled code of every module the program and the policy pack load, from the first one on (the
# SDK's own runner, loaded before the program can ask for it: runtime/compileCache.ts), for the next run.
export NODE_COMPILE_CACHE=${NODE_COMPILE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mesh-tenancy/node-compile-cache}
# This project's policy pack, named by its directory, runs as the binary analyzer beside it (policy/analyzer): the
# same pack, started by the CLI itself rather than behind the Node.js language host's policy proxy, which decodes and
# re-encodes the engine's two calls per resource. MESH_TENANCY_PACK_LAUNCH=language-host keeps the directory as given.
pack_dir=$(cd "$root/policy" && pwd -P)
names_pack() { [ "${MESH_TENANCY_PACK_LAUNCH:-analyzer}" != language-host ] && [ "$(cd "$1" 2>/dev/null && pwd -P)" = "$pack_dir" ]; }
args=()
after_flag=
for arg in "$@"; do
	if [ -n "$after_flag" ] && names_pack "$arg"; then
		arg=$pack_dir/analyzer
	elif [[ "$arg" == --policy-pack=* ]] && names_pack "${arg#--policy-pack=}"; then
		arg=--policy-pack=$pack_dir/analyzer
	fi
	after_flag=
	[ "$arg" != --policy-pack ] || after_flag=1
	args+=("$arg")
done
pulumi "${args[@]}" 2>&1 | tee "$log" | TS_NODE_PROJECT="$root/tsconfig.json" node -r "$root/node_modules/ts-node/register/transpile-only" "$root/ops/cli.ts" fold --log "$log"
status=("${PIPESTATUS[@]}")
[ "${status[1]}" -eq 0 ] && [ "${status[2]}" -eq 0 ] || echo "pulumi-run: the output filter failed; the whole output is in $log" >&2
exit "${status[0]}"
