# Sourced by bench/engine.sh: CPU seconds per process family of one pulumi run, sampled from ps once a second. Only
# the run's own processes count (the CLI started by this shell and its descendants: language host, program, policy
# pack, provider; the output filter of scripts/pulumi-run.sh) and the cluster of $MESH_TENANCY_CLUSTER_DIR, so that
# other work on the machine does not.
# Processes that live under a second are missed; every process of a pulumi run lives longer.
#   cpu_split_start; <command>; cpu_split_stop   →  prints "cli=… program=… pack=… langhost=… provider=… fold=… apiserver=… etcd=…"

cpu_split_start() {
	_cpu_split_file=$(mktemp "${TMPDIR:-/tmp}/mesh-tenancy-cpu.XXXXXX")
	(
		while :; do
			ps -eo pid=,ppid=,cputimes=,args= >>"$_cpu_split_file" 2>/dev/null
			sleep 1
		done
	) &
	_cpu_split_pid=$!
	# The cluster's CPU so far, subtracted at the end.
	_cpu_split_base=$(ps -eo pid=,ppid=,cputimes=,args= | awk -v dir="$MESH_TENANCY_CLUSTER_DIR" 'index($0, dir) && $4 ~ /(kube-apiserver|etcd)$/ { print $1 ":" $3 }' | tr '\n' ' ')
}

cpu_split_stop() {
	kill "$_cpu_split_pid" 2>/dev/null
	wait "$_cpu_split_pid" 2>/dev/null || true
	awk -v base="$_cpu_split_base" -v shell="$$" -v dir="$MESH_TENANCY_CLUSTER_DIR" '
		BEGIN { n = split(base, b, " "); for (i = 1; i <= n; i++) { split(b[i], kv, ":"); start[kv[1]] = kv[2] } }
		{
			# The first parent seen: a process whose parent exits is handed to init, which says nothing of whose it is.
			pid = $1; if (!(pid in parent)) parent[pid] = $2; t = $3; args = $0
			if (args ~ /kube-apiserver/) c = "apiserver"
			else if (args ~ /(^| |\/)etcd( |$)/) c = "etcd"
			else if (args ~ /pulumi-resource-kubernetes/) c = "provider"
			else if (args ~ /cmd\/run-policy-pack(\/| )/) c = "pack"
			else if (args ~ /pulumi-language-nodejs/) c = "langhost"
			else if (args ~ /cmd\/run\/index\.js/) c = "program"
			else if (args ~ /(^|[ \/])pulumi (up|preview|destroy|refresh)/) c = "cli"
			else if (args ~ /ops\/cli\.ts fold/) c = "fold"
			else next
			if (c == "apiserver" || c == "etcd") { if (!index(args, dir)) next }
			if (t > max[pid]) { max[pid] = t; class[pid] = c }
		}
		function ours(p,   hops) {
			for (hops = 0; hops < 10 && p != "" && p != 0; hops++) { if (p == shell) return 1; p = parent[p] }
			return 0
		}
		END {
			for (p in max) {
				if (class[p] != "apiserver" && class[p] != "etcd" && !ours(parent[p])) continue
				sum[class[p]] += max[p] - (p in start ? start[p] : 0)
			}
			out = ""
			split("cli program pack langhost provider fold apiserver etcd", order, " ")
			for (i = 1; i <= 8; i++) out = out sprintf("%s%s=%.0f", (i > 1 ? " " : ""), order[i], sum[order[i]])
			print out
		}' "$_cpu_split_file"
	rm -f "$_cpu_split_file"
}
