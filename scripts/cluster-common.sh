# What cluster.sh and node.sh share: the settings they must agree on (one state dir, one Service CIDR) and the process
# helpers. Sourced first; the helpers call the `log` and `die` each script defines.

state_dir=${MESH_TENANCY_CLUSTER_DIR:-/tmp/mesh-tenancy-cluster}
ready_timeout=${MESH_TENANCY_READY_TIMEOUT:-120}
service_cidr=${MESH_TENANCY_SERVICE_CIDR:-10.0.0.0/24}
kubeconfig=$state_dir/kubeconfig
# The node's network (scripts/node.sh): pods on a bridge of their own whose address is the node's, the pods' gateway.
# With a node the API server listens there too, so that pods (istiod) reach it through the `kubernetes` Service;
# nothing outside this machine sees that address.
node_bridge=mtnode0
node_ip=10.244.0.1
pod_cidr=10.244.0.0/24
cluster_cidr=10.244.0.0/16

is_running() { # NAME
	local pid
	pid=$(cat "$state_dir/$1.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

stop_pid() { # NAME PID
	local i
	kill -TERM "$2" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$2" 2>/dev/null; then
		log "$1 (pid $2) did not stop on TERM, killing"
		kill -KILL "$2" 2>/dev/null || true
	fi
}

stop_one() { # NAME
	local pid
	pid=$(cat "$state_dir/$1.pid" 2>/dev/null) || return 0
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		stop_pid "$1" "$pid"
		log "stopped $1 (pid $pid)"
	fi
	rm -f "$state_dir/$1.pid"
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on now, below the kernel's ephemeral range: a port in
# that range can be the local end of another process's outgoing connection, which a connect probe does not see and
# which makes the server's bind fail ("address already in use"), as a thousand xDS client streams on the machine did.
free_port() {
	local port i low=32768 high
	read -r low high < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	local from=20000 span=$((low - 20000))
	if [ "$span" -lt 2000 ]; then from=$((high + 1)) span=$((65535 - high)); fi
	[ "$span" -ge 100 ] || die "no port range outside the ephemeral ports ($low-$high) to choose from"
	for i in $(seq 1 200); do
		port=$((from + RANDOM % span))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			printf '%s\n' "$port"
			return 0
		fi
	done
	die "no free port found"
}
