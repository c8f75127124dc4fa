#!/usr/bin/env bash
# Real-engine benchmark (`npm run bench:engine -- [--split] [--usergroup-size S] [--no-kubectl] [N...]`, default 100 400 1000): for each N, a fresh local
# control plane and the N-tenant, four-usergroup estate of bench/generate.ts (`engineBenchConfig`), deployed the way
# the main job deploys (scripts/pulumi-run.sh's settings, the policy pack with policy/config/dev.json), timing:
#   up        `pulumi up --skip-preview` from an empty stack and cluster
#   preview   `pulumi preview` of a one-tenant change (a quota added to one tenant)
#   noop      `pulumi up --skip-preview` with nothing to change
#   kubectl   `kubectl apply --server-side` of the very same objects (the stack's inputs) into another fresh cluster
# and prints one line per N with the figures, the resource count and the ratio up/kubectl, then for each run the CPU
# seconds per process (bench/cpu-split.sh: the CLI/engine, the program, the policy pack, the language host, the provider,
# kube-apiserver, etcd), which says where the time goes.
# With --split the estate is one stack per part (`stackPart`: the usergroup holding the base chart, the platform, the
# other usergroups, deployed in that order): up and noop are every part one after the other (and the largest part),
# the preview is the part the changed tenant is in, as a pull request for that tenant would run it. --parallel (implies
# --split) runs the parts after the first two at the same time, as independent CI jobs would. --repeat R (default 3)
# runs the preview and the no-op R times and reports the median run (every run's seconds beside it): on a shared
# machine one run's wall time moves by a quarter or more with the neighbours' load; a probe (milliseconds of fixed
# CPU-bound work) before each run says how fast the machine was then.
# --usergroup-size S writes usergroups of at most S tenants (more usergroups, so more parts, as N grows), and
# --no-kubectl leaves out the kubectl comparison.
# Needs the toolchain (built on first use). MESH_TENANCY_BENCH_KEEP=1 keeps the state dirs.
set -euo pipefail
scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../scripts" && pwd)
root=$(dirname "$scripts_dir")
cd "$root"
split=
parallel=
repeat=3
kubectl_compare=1
shape_args=()
sizes=()
while [ $# -gt 0 ]; do
	case "$1" in
	--split) split=1 ;;
	--parallel) split=1 parallel=1 ;;
	--usergroup-size)
		[[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "bench-engine: --usergroup-size needs a number of tenants, got '${2:-}'" >&2; exit 2; }
		shape_args+=(--usergroup-size "$2")
		shift
		;;
	--no-kubectl) kubectl_compare= ;;
	--repeat)
		[[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "bench-engine: --repeat needs a count of runs, got '${2:-}'" >&2; exit 2; }
		repeat=$2
		shift
		;;
	*) sizes+=("$1") ;;
	esac
	shift
done
[ "${#sizes[@]}" -gt 0 ] || sizes=(100 400 1000)

. "$root/bench/cpu-split.sh"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf 'bench-engine: %s\n' "$*" >&2; }
# The machine's speed at this moment: milliseconds of a fixed CPU-bound piece of work (lower is faster), printed beside
# each measured run, so that figures taken minutes apart on a machine shared with others can be read against each other.
probe() { node -e 'const t=process.hrtime.bigint();let n=0;for(let i=0;i<3e6;i++)n+=JSON.stringify({i,s:String(i)}).length;console.log(Math.round(Number(process.hrtime.bigint()-t)/1e6))'; }

run_pulumi_checked() { # LOG ARGS...: run_pulumi, a failure recorded in $work/failed
	run_pulumi "$@" || echo "$(basename "$1")" >>"$work/failed"
}

run_pulumi() { # LOG ARGS...: pulumi with the pack as the main job runs it (scripts/pulumi-run.sh), failing loudly with the log's tail
	local out=$1
	shift
	if ! MESH_TENANCY_PULUMI_LOG=$out "$scripts_dir/pulumi-run.sh" "$@" --non-interactive --color never --policy-pack policy --policy-pack-config policy/config/dev.json >"$out.folded" 2>&1; then
		tail -n 30 "$out" >&2
		log "pulumi $1 failed; whole output in $out"
		return 1
	fi
}

for n in "${sizes[@]}"; do
	work=$(mktemp -d "${TMPDIR:-/tmp}/mesh-tenancy-bench.$n.XXXXXX")
	export MESH_TENANCY_CLUSTER_DIR=$work/engine
	# Every gateway and istiod has a Service: past about ten usergroups of 250 tenants a /24 of ClusterIPs runs out.
	export MESH_TENANCY_SERVICE_CIDR=${MESH_TENANCY_SERVICE_CIDR:-10.96.0.0/16}
	# shellcheck source=../scripts/pulumi-env.sh
	. "$scripts_dir/pulumi-env.sh"
	"$scripts_dir/cluster.sh" start >/dev/null
	"$scripts_dir/istio.sh" crds 2>/dev/null
	# Each part is a stack of its own with its own config file; without --split the one part is the whole estate.
	if [ -n "$split" ]; then
		parts_json=$(npx ts-node --transpile-only bench/stack-file.ts "$n" - --shape engine "${shape_args[@]}" --parts)
		read -r -a parts <<<"$(node -e 'console.log(JSON.parse(process.argv[1]).order.join(" "))' "$parts_json")"
		changed_part=$(node -e 'console.log(JSON.parse(process.argv[1]).changed)' "$parts_json")
	else
		parts=(all)
		changed_part=all
	fi
	stacks=()
	for part in "${parts[@]}"; do
		tag=${part#usergroup:}
		npx ts-node --transpile-only bench/stack-file.ts "$n" "$work/base-$tag.yaml" --shape engine "${shape_args[@]}" --part "$part"
		[ "$part" = "$changed_part" ] && npx ts-node --transpile-only bench/stack-file.ts "$n" "$work/changed.yaml" --shape engine "${shape_args[@]}" --change --part "$part"
		stack=bench-engine-$n-$tag
		made=stacks/Pulumi.$stack.yaml
		[ -e "$made" ] && made=
		pulumi stack select --create "$stack" --non-interactive >/dev/null
		[ -z "$made" ] || rm -f "$made"
		stacks+=("$stack")
		[ "$part" = "$changed_part" ] && changed_stack=$stack
	done

	up_part() { # WHAT I: up part I; prints its seconds (a failed run leaves $work/failed, which ends the benchmark)
		local t1
		t1=$(now)
		run_pulumi "$work/$1-$2.log" up --yes --skip-preview --stack "${stacks[$2]}" --config-file "$work/base-${parts[$2]#usergroup:}.yaml" || echo "${parts[$2]} ($1)" >>"$work/failed"
		since "$t1"
	}
	# A run inside $(...) cannot stop the script itself, so each measured step is checked for a failed run after it:
	# figures of a run that failed are not figures.
	check_runs() {
		[ ! -s "$work/failed" ] || {
			log "n=$n: failed: $(tr '\n' ' ' <"$work/failed")(logs in $work); no figures"
			"$scripts_dir/cluster.sh" stop 2>/dev/null || true
			exit 1
		}
	}
	every_part() { # WHAT: up each part in order, or with --parallel the parts after the first two at once; prints the seconds of each
		local i per=() pids=()
		for i in "${!parts[@]}"; do
			if [ -n "$parallel" ] && [ "$i" -ge 2 ]; then
				up_part "$1" "$i" >"$work/$1-$i.seconds" &
				pids+=($!)
			else
				per+=("$(up_part "$1" "$i")")
			fi
		done
		for i in "${pids[@]}"; do wait "$i"; done
		for i in "${!parts[@]}"; do [ "$i" -lt 2 ] || [ -z "$parallel" ] || per+=("$(cat "$work/$1-$i.seconds")"); done
		echo "${per[*]}"
	}
	largest() { tr ' ' '\n' | sort -g | tail -n 1; }
	measure() { # NAME CMD...: runs CMD; sets NAME to its seconds, NAME_cpu to its CPU split, NAME_out to its output
		local name=$1 t1 out
		shift
		t1=$(now)
		cpu_split_start
		out=$("$@")
		printf -v "$name" '%s' "$(since "$t1")"
		printf -v "${name}_cpu" '%s' "$(cpu_split_stop)"
		printf -v "${name}_out" '%s' "$out"
	}
	measure_median() { # NAME CMD...: measure CMD $repeat times; NAME, NAME_cpu and NAME_out are the median run's, NAME_runs and NAME_probes every run's seconds and probe
		local name=$1 i seconds=() cpus=() outs=() probes=() middle
		shift
		for ((i = 0; i < repeat; i++)); do
			probes+=("$(probe)")
			measure "$name" "$@"
			seconds+=("${!name}")
			local cpu_var=${name}_cpu out_var=${name}_out
			cpus+=("${!cpu_var}")
			outs+=("${!out_var}")
		done
		middle=$(for i in "${!seconds[@]}"; do echo "${seconds[$i]} $i"; done | sort -g | awk -v m=$(((repeat - 1) / 2)) 'NR == m + 1 { print $2 }')
		printf -v "$name" '%s' "${seconds[$middle]}"
		printf -v "${name}_cpu" '%s' "${cpus[$middle]}"
		printf -v "${name}_out" '%s' "${outs[$middle]}"
		printf -v "${name}_runs" '%s' "${seconds[*]}"
		printf -v "${name}_probes" '%s' "${probes[*]}"
	}

	log "n=$n: up from empty (${parts[*]})"
	up_probes=$(probe)
	measure up every_part up
	check_runs
	up_parts=$up_out
	resources=0
	for stack in "${stacks[@]}"; do
		count=$(pulumi stack export --stack "$stack" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).deployment.resources.length))')
		resources=$((resources + count))
	done

	log "n=$n: preview of a one-tenant change ($changed_part)"
	measure_median preview run_pulumi_checked "$work/preview.log" preview --stack "$changed_stack" --config-file "$work/changed.yaml"
	check_runs
	changes=$(grep -cE '^\s+\+\s' "$work/preview.log" || true)

	log "n=$n: no-op up ($repeat runs)"
	measure_median noop every_part noop
	check_runs
	noop_parts=$noop_out
	if grep -qE '[0-9]+ (to create|created|updated|to update|deleted)' "$work"/noop-*.log; then log "n=$n: the no-op up changed something: see $work/noop-*.log"; fi

	for stack in "${stacks[@]}"; do pulumi stack export --stack "$stack" | npx ts-node --transpile-only bench/state-objects.ts; done >"$work/objects.yaml"
	objects=$(grep -c '^---$' "$work/objects.yaml")
	"$scripts_dir/cluster.sh" stop 2>/dev/null

	direct=- direct_probes=- ratio=-
	if [ -n "$kubectl_compare" ]; then
		export MESH_TENANCY_CLUSTER_DIR=$work/kubectl KUBECONFIG=$work/kubectl/kubeconfig
		"$scripts_dir/cluster.sh" start >/dev/null
		"$scripts_dir/istio.sh" crds 2>/dev/null
		log "n=$n: kubectl apply --server-side of the same $objects objects"
		direct_probes=$(probe)
		t=$(now)
		kubectl apply --server-side --field-manager bench -f "$work/objects.yaml" >"$work/kubectl.log"
		direct=$(since "$t")
		"$scripts_dir/cluster.sh" stop 2>/dev/null
		ratio=$(awk -v a="$up" -v b="$direct" 'BEGIN { printf "%.1fx", a / b }')
	fi
	echo "n=$n${split:+ split into ${#parts[@]} stacks}${parallel:+ (parts after the first two at once)} resources=$resources objects=$objects up_s=$up preview_one_tenant_s=$preview (+$changes) noop_up_s=$noop kubectl_apply_s=$direct up/kubectl=$ratio"
	echo "n=$n runs (median reported): preview_one_tenant_s $preview_runs; noop_up_s $noop_runs"
	echo "n=$n machine probe before each run (ms of fixed work, lower is faster): up $up_probes; preview $preview_probes; noop_up $noop_probes; kubectl $direct_probes"
	[ -z "$split" ] || echo "n=$n per stack (${parts[*]}): up_s $up_parts, largest $(largest <<<"$up_parts"); noop_up_s $noop_parts, largest $(largest <<<"$noop_parts")"
	echo "n=$n cpu_s up: $up_cpu"
	echo "n=$n cpu_s preview: $preview_cpu"
	echo "n=$n cpu_s noop_up: $noop_cpu"
	for stack in "${stacks[@]}"; do pulumi stack rm --force --yes --stack "$stack" >/dev/null 2>&1 || true; done
	[ -n "${MESH_TENANCY_BENCH_KEEP:-}" ] || rm -rf "$work"
done
