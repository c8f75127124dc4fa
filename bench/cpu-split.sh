# Sourced by bench/engine.sh: CPU seconds per process family while one command runs, sampled from ps once a second
# (processes that live under a second are missed; every process of a pulumi run lives longer).
#   cpu_split_start; <command>; cpu_split_stop   →  prints "cli=… program=… pack=… provider=… apiserver=… etcd=…"

cpu_split_start() {
	_cpu_split_file=$(mktemp "${TMPDIR:-/tmp}/mesh-tenancy-cpu.XXXXXX")
	(
		while :; do
			ps -eo pid=,cputimes=,args= >>"$_cpu_split_file" 2>/dev/null
			echo "--" >>"$_cpu_split_file"
			sleep 1
		done
	) &
	_cpu_split_pid=$!
	# Long-lived servers: their CPU so far, subtracted at the end.
	_cpu_split_base=$(ps -eo pid=,cputimes=,args= | awk '$3 ~ /(kube-apiserver|etcd)$/ { print $1 ":" $2 }' | tr '\n' ' ')
}

cpu_split_stop() {
	kill "$_cpu_split_pid" 2>/dev/null
	wait "$_cpu_split_pid" 2>/dev/null || true
	ps -eo pid=,cputimes=,args= >>"$_cpu_split_file"
	awk -v base="$_cpu_split_base" '
		BEGIN { n = split(base, b, " "); for (i = 1; i <= n; i++) { split(b[i], kv, ":"); start[kv[1]] = kv[2] } }
		$0 == "--" { next }
		{
			pid = $1; t = $2; args = $0
			if (args ~ /kube-apiserver/) c = "apiserver"
			else if (args ~ /(^| |\/)etcd( |$)/) c = "etcd"
			else if (args ~ /pulumi-resource-kubernetes/) c = "provider"
			else if (args ~ /cmd\/run-policy-pack\//) c = "pack"
			else if (args ~ /pulumi-language-nodejs/) c = "langhost"
			else if (args ~ /cmd\/run\/index\.js/) c = "program"
			else if (args ~ /(^|[ \/])pulumi (up|preview|destroy|refresh)/) c = "cli"
			else next
			if (t > max[pid]) { max[pid] = t; class[pid] = c }
		}
		END {
			for (p in max) sum[class[p]] += max[p] - (p in start ? start[p] : 0)
			out = ""
			split("cli program pack langhost provider apiserver etcd", order, " ")
			for (i = 1; i <= 7; i++) out = out sprintf("%s%s=%.0f", (i > 1 ? " " : ""), order[i], sum[order[i]])
			print out
		}' "$_cpu_split_file"
	rm -f "$_cpu_split_file"
}
