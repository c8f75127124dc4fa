#!/usr/bin/env bash
# Real-engine cost of one `pulumi preview` of the benchmark's N-tenant stack (bench/stack-file.ts) on the local
# control plane: lines of output (all, and those of the Outputs section), and CPU seconds and peak RSS over the CLI
# and every process it starts (/usr/bin/time -v: the largest single process, in practice the program's Node.js).
# Needs the toolchain and a running control plane (scripts/cluster.sh start).
#
#   bench/engine-preview.sh N [PROJECT_DIR [PULUMI_PREVIEW_ARGS...]]
#
# PROJECT_DIR (default: this checkout) lets the same stack be previewed by another revision of the program.
set -euo pipefail
scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../scripts" && pwd)
root=$(dirname "$scripts_dir")
n=$1
dir=${2:-$root}
shift $(($# < 2 ? $# : 2))
. "$scripts_dir/pulumi-env.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/engine-preview.XXXXXX")
(cd "$root" && npx ts-node --transpile-only bench/stack-file.ts "$n" "$work/Pulumi.bench-$n.yaml")
cd "$dir"
# Selecting a new stack writes its salt to stacks/; the config comes from --config-file, so that file goes again.
made="stacks/Pulumi.bench-$n.yaml"
[ -e "$made" ] && made=
pulumi stack select --create "bench-$n" --non-interactive >/dev/null
[ -z "$made" ] || rm -f "$made"
status=0
/usr/bin/time -v -o "$work/time" pulumi preview --non-interactive --color never --stack "bench-$n" \
	--config-file "$work/Pulumi.bench-$n.yaml" "$@" >"$work/out" 2>&1 || status=$?
lines=$(wc -l <"$work/out")
outputs=$(awk '/^Outputs:/ { f = 1; next } /^[^ ]/ { f = 0 } f' "$work/out" | wc -l)
cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.1f", u + s }' "$work/time")
rss=$(awk -F': ' '/Maximum resident/ { printf "%d", $2 / 1024 }' "$work/time")
wall=$(awk -F': ' '/Elapsed/ { print $2 }' "$work/time")
echo "n=$n exit=$status lines=$lines outputs_lines=$outputs cpu_s=$cpu peak_rss_mb=$rss wall=$wall output=$work/out"
