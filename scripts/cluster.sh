#!/usr/bin/env bash
# A throwaway Kubernetes control plane for the end-to-end tests: etcd,
# kube-apiserver and a kube-controller-manager running only the controllers
# that need no nodes, all on 127.0.0.1. There are no nodes and no scheduler,
# so no pod ever runs (see scripts/README.md) unless MESH_TENANCY_NODE=1 adds
# one node (scripts/node.sh: containerd, kubelet, kube-proxy, kube-scheduler,
# kube-router) and the controllers that run pods.
#
# Usage: scripts/cluster.sh start|stop|status|env|stop-one NAME|start-one NAME
#   start   start etcd, kube-apiserver and kube-controller-manager (fresh data
#           each time), wait until ready, print `export KUBECONFIG=...`
#   stop    stop them by their PID files; logs are kept
#   status  print whether each process is running
#   env     print `export KUBECONFIG=...`
#   stop-one NAME   stop one of etcd, kube-apiserver, kube-controller-manager
#           (SIGTERM, as an operator's restart would) and keep etcd's data:
#           the fault suite's outages
#   start-one NAME  start it again with the same command line (same ports,
#           same data), wait until it is ready
#
# Environment:
#   MESH_TENANCY_CLUSTER_DIR  state dir (default /tmp/mesh-tenancy-cluster)
#   MESH_TENANCY_BIN          dir holding etcd, kube-apiserver and
#                             kube-controller-manager (default: whatever
#                             build-toolchain.sh prints)
#   MESH_TENANCY_CONTROLLERS  comma-separated kube-controller-manager
#                             controllers, or "none" to not start it (default:
#                             $default_controllers below)
#   MESH_TENANCY_READY_TIMEOUT  seconds to wait for /readyz (default 120)
#   MESH_TENANCY_SERVICE_CIDR   the Services' ClusterIP range (default
#                             10.0.0.0/24: 254 Services; bench:istiod needs more)
#   MESH_TENANCY_NODE         1: also start a node (installing its Debian
#                             packages when missing); where this machine cannot
#                             run one, say why and stay node-less
set -euo pipefail

scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=cluster-common.sh
. "$scripts_dir/cluster-common.sh"
# Controllers that work without nodes: garbage collection (foreground and
# background deletes finish), namespace deletion, service accounts and their
# tokens, aggregated cluster roles (admin/edit/view), kube-root-ca.crt config
# maps and resource quota status. None of them creates pods.
default_controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller,clusterrole-aggregation-controller,root-ca-certificate-publisher-controller,resourcequota-controller
# With a node, also the controllers that take the not-ready taint off it once
# it is Ready (else nothing schedules), make workloads' pods, collect the pods
# of deleted namespaces, and give kube-proxy the Services' endpoints.
node_controllers=node-lifecycle-controller,deployment-controller,replicaset-controller,statefulset-controller,daemonset-controller,job-controller,endpoints-controller,endpointslice-controller,endpointslice-mirroring-controller,pod-garbage-collector-controller
with_node=${MESH_TENANCY_NODE:-0}
[ "$with_node" = 1 ] && default_controllers+=,$node_controllers
controllers=${MESH_TENANCY_CONTROLLERS:-$default_controllers}
processes=(etcd kube-apiserver kube-controller-manager)

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# wait_for NAME URL REGEX CURL_ARGS...: polls URL until its body matches REGEX.
wait_for() {
	local name=$1 url=$2 regex=$3 deadline=$((SECONDS + ready_timeout))
	shift 3
	until curl -s --max-time 2 "$@" "$url" 2>/dev/null | grep -Eq "$regex"; do
		is_running "$name" || die "$name exited; last lines of $state_dir/$name.log:
$(tail -n 20 "$state_dir/$name.log" 2>/dev/null)"
		[ "$SECONDS" -lt "$deadline" ] || die "$name not ready at $url after ${ready_timeout}s; see $state_dir/$name.log"
		sleep 0.2
	done
}

print_env() { printf 'export KUBECONFIG=%s\n' "$kubeconfig"; }

# launch NAME LOG_APPEND COMMAND...: starts COMMAND in a session of its own with its PID in NAME.pid, and keeps the
# command line in NAME.cmd so that start-one can start the same process again (same ports, same data).
launch() {
	local name=$1 append=$2
	shift 2
	printf '%s\0' "$@" >"$state_dir/$name.cmd"
	if [ "$append" = 1 ]; then
		setsid "$@" </dev/null >>"$state_dir/$name.log" 2>&1 &
	else
		setsid "$@" </dev/null >"$state_dir/$name.log" 2>&1 &
	fi
	echo $! >"$state_dir/$name.pid"
}

# The API server's address and the admin token, from the kubeconfig start wrote.
api_url() { sed -n 's/^ *server: //p' "$kubeconfig"; }
api_token() { sed -n 's/^ *token: //p' "$kubeconfig"; }
wait_api_ready() {
	wait_for kube-apiserver "$(api_url)/readyz" '^ok$' --cacert "$state_dir/pki/ca.crt" -H "Authorization: Bearer $(api_token)"
}

make_certs() { # DIR
	local d=$1
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=mesh-tenancy-ca \
		-keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver \
		-keyout "$d/apiserver.key" -out "$d/apiserver.csr" 2>/dev/null
	printf '%s\n' \
		'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,IP:'"$node_ip"',DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc' \
		'extendedKeyUsage=serverAuth' 'keyUsage=critical,digitalSignature,keyEncipherment' >"$d/apiserver.ext"
	openssl x509 -req -days 3650 -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-extfile "$d/apiserver.ext" -out "$d/apiserver.crt" 2>/dev/null
	# The API server's client certificate to kubelets (logs, exec), in system:masters.
	openssl req -newkey rsa:2048 -nodes -subj /O=system:masters/CN=kube-apiserver-kubelet-client \
		-keyout "$d/kubelet-client.key" -out "$d/kubelet-client.csr" 2>/dev/null
	printf '%s\n' 'extendedKeyUsage=clientAuth' 'keyUsage=critical,digitalSignature,keyEncipherment' >"$d/kubelet-client.ext"
	openssl x509 -req -days 3650 -in "$d/kubelet-client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-extfile "$d/kubelet-client.ext" -out "$d/kubelet-client.crt" 2>/dev/null
	openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
	openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
	rm -f "$d/apiserver.csr" "$d/apiserver.ext" "$d/kubelet-client.csr" "$d/kubelet-client.ext" "$d/ca.srl"
}

start() {
	if is_running etcd || is_running kube-apiserver || is_running kube-controller-manager; then
		if is_running etcd && is_running kube-apiserver && [ -f "$kubeconfig" ] &&
			{ [ "$controllers" = none ] || is_running kube-controller-manager; }; then
			log "already running (state dir $state_dir)"
			if [ "$with_node" = 1 ] && [ ! -f "$state_dir/kubelet.pid" ]; then
				log "it runs without a node: '$0 stop' first to start it again with one"
			fi
			print_env
			return 0
		fi
		log "a previous cluster is half running; stopping it"
		stop
	fi
	command -v openssl >/dev/null || die "openssl is not on PATH"
	command -v curl >/dev/null || die "curl is not on PATH"

	local bin=${MESH_TENANCY_BIN:-}
	if [ -z "$bin" ]; then
		bin=$("$scripts_dir/build-toolchain.sh" etcd kube-apiserver kube-controller-manager kubectl | tail -n 1)
	fi
	local t need=(etcd kube-apiserver)
	[ "$controllers" = none ] || need+=(kube-controller-manager)
	for t in "${need[@]}"; do
		[ -x "$bin/$t" ] || die "$bin/$t is missing; run scripts/build-toolchain.sh"
	done

	local begin=$SECONDS
	mkdir -p "$state_dir"
	rm -rf "$state_dir/etcd-data" "$state_dir/pki" "$state_dir/apiserver-cert-dir" "$kubeconfig"
	mkdir -p "$state_dir/pki" "$state_dir/apiserver-cert-dir"
	chmod 700 "$state_dir/pki"
	make_certs "$state_dir/pki"
	local token
	token=$(openssl rand -hex 32)
	printf '%s,admin,admin,"system:masters"\n' "$token" >"$state_dir/pki/tokens.csv"

	# With a node, the API server listens on the node's address (the pods' gateway) so that pods reach it through the
	# `kubernetes` Service, as istiod does; without one, on loopback.
	local api_host=127.0.0.1 node_rc=0 admission=(--disable-admission-plugins ServiceAccount)
	if [ "$with_node" = 1 ]; then
		"$scripts_dir/node.sh" install || node_rc=$?
		case $node_rc in
		0)
			"$scripts_dir/node.sh" network
			api_host=$node_ip
			# Pods that run get their service account's token mounted (istiod's in-cluster client reads it), as in
			# any cluster; node-less, no pod runs and a new namespace's pods need not wait for its account.
			admission=()
			;;
		3) log "MESH_TENANCY_NODE=1 but no node on this machine (see above): the cluster stays node-less, no pod will run" ;;
		*) die "installing the node's packages failed" ;;
		esac
	fi

	local etcd_port etcd_peer_port api_port
	etcd_port=$(free_port)
	etcd_peer_port=$(free_port)
	while [ "$etcd_peer_port" = "$etcd_port" ]; do etcd_peer_port=$(free_port); done
	log "starting etcd on 127.0.0.1:$etcd_port"
	launch etcd 0 "$bin/etcd" \
		--name default \
		--data-dir "$state_dir/etcd-data" \
		--listen-client-urls "http://127.0.0.1:$etcd_port" \
		--advertise-client-urls "http://127.0.0.1:$etcd_port" \
		--listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
		--initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
		--initial-cluster "default=http://127.0.0.1:$etcd_peer_port" \
		--unsafe-no-fsync \
		--log-level warn
	wait_for etcd "http://127.0.0.1:$etcd_port/health" '"health": ?"true"'
	log "etcd ready"

	api_port=$(free_port)
	log "starting kube-apiserver on $api_host:$api_port"
	launch kube-apiserver 0 "$bin/kube-apiserver" \
		--etcd-servers "http://127.0.0.1:$etcd_port" \
		--bind-address "$api_host" \
		--advertise-address "$api_host" \
		--secure-port "$api_port" \
		--cert-dir "$state_dir/apiserver-cert-dir" \
		--tls-cert-file "$state_dir/pki/apiserver.crt" \
		--tls-private-key-file "$state_dir/pki/apiserver.key" \
		--client-ca-file "$state_dir/pki/ca.crt" \
		--kubelet-client-certificate "$state_dir/pki/kubelet-client.crt" \
		--kubelet-client-key "$state_dir/pki/kubelet-client.key" \
		--kubelet-preferred-address-types InternalIP,Hostname \
		--token-auth-file "$state_dir/pki/tokens.csv" \
		--authorization-mode RBAC \
		--service-cluster-ip-range "$service_cidr" \
		--service-account-issuer https://kubernetes.default.svc \
		--service-account-key-file "$state_dir/pki/sa.pub" \
		--service-account-signing-key-file "$state_dir/pki/sa.key" \
		--allow-privileged=true \
		"${admission[@]}" \
		--profiling=false

	local ca_data
	ca_data=$(base64 -w0 <"$state_dir/pki/ca.crt")
	umask 077
	cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: mesh-tenancy
  cluster:
    server: https://$api_host:$api_port
    certificate-authority-data: $ca_data
users:
- name: admin
  user:
    token: $token
contexts:
- name: mesh-tenancy
  context:
    cluster: mesh-tenancy
    user: admin
    namespace: default
current-context: mesh-tenancy
EOF
	wait_api_ready
	log "kube-apiserver ready at https://$api_host:$api_port"

	if [ "$controllers" != none ]; then
		log "starting kube-controller-manager ($controllers)"
		launch kube-controller-manager 0 "$bin/kube-controller-manager" \
			--kubeconfig "$kubeconfig" \
			--controllers "$controllers" \
			--leader-elect=false \
			--secure-port 0 \
			--use-service-account-credentials=false \
			--service-account-private-key-file "$state_dir/pki/sa.key" \
			--root-ca-file "$state_dir/pki/ca.crt" \
			--service-cluster-ip-range "$service_cidr"
		case ",$controllers," in
		*,serviceaccount-controller,*)
			# Ready once it has made the default namespace's service account.
			wait_for kube-controller-manager \
				"https://$api_host:$api_port/api/v1/namespaces/default/serviceaccounts/default" '"kind": ?"ServiceAccount"' \
				--cacert "$state_dir/pki/ca.crt" -H "Authorization: Bearer $token"
			;;
		*)
			sleep 1
			is_running kube-controller-manager || die "kube-controller-manager exited; see $state_dir/kube-controller-manager.log"
			;;
		esac
		log "kube-controller-manager ready"
	fi
	if [ "$with_node" = 1 ] && [ "$node_rc" = 0 ]; then "$scripts_dir/node.sh" start; fi
	log "cluster ready in $((SECONDS - begin))s (state dir $state_dir)"
	print_env
}

stop() {
	[ ! -d "$state_dir/node" ] || "$scripts_dir/node.sh" stop
	stop_one kube-controller-manager
	stop_one kube-apiserver
	stop_one etcd
	rm -rf "$state_dir/etcd-data"
}

status() {
	local name rc=0
	for name in "${processes[@]}"; do
		[ "$name" != kube-controller-manager ] || [ -f "$state_dir/$name.pid" ] || continue
		if is_running "$name"; then
			printf '%s: running (pid %s)\n' "$name" "$(cat "$state_dir/$name.pid")"
		else
			printf '%s: stopped\n' "$name"
			rc=1
		fi
	done
	if [ -f "$state_dir/kubelet.pid" ]; then "$scripts_dir/node.sh" status || rc=1; fi
	return "$rc"
}

component() { # NAME: fails unless NAME is one of the control plane's processes
	case ${1:-} in
	etcd | kube-apiserver | kube-controller-manager) ;;
	*) die "unknown component '${1:-}': one of ${processes[*]}" ;;
	esac
}

stop_component() { # NAME
	component "$1"
	[ -f "$state_dir/$1.cmd" ] || die "$1 was not started by '$0 start' in $state_dir"
	is_running "$1" || die "$1 is not running"
	stop_one "$1"
}

start_component() { # NAME
	component "$1"
	[ -f "$state_dir/$1.cmd" ] || die "$1 was not started by '$0 start' in $state_dir"
	if is_running "$1"; then
		log "$1 is already running"
		return 0
	fi
	local args=()
	mapfile -d '' args <"$state_dir/$1.cmd"
	printf -- '--- %s: started again by %s start-one\n' "$(date -u +%FT%TZ)" "$0" >>"$state_dir/$1.log"
	launch "$1" 1 "${args[@]}"
	case $1 in
	etcd)
		local url
		url=$(printf '%s\n' "${args[@]}" | sed -n '/^--advertise-client-urls$/{n;p;q}')
		wait_for etcd "$url/health" '"health": ?"true"'
		;;
	kube-apiserver) wait_api_ready ;;
	kube-controller-manager)
		sleep 1
		is_running kube-controller-manager || die "kube-controller-manager exited; see $state_dir/kube-controller-manager.log"
		;;
	esac
	log "$1 started again (pid $(cat "$state_dir/$1.pid"))"
}

case ${1:-} in
start) start ;;
stop-one) stop_component "${2:-}" ;;
start-one) start_component "${2:-}" ;;
stop) stop ;;
status) status ;;
env)
	[ -f "$kubeconfig" ] || die "no kubeconfig in $state_dir; run '$0 start' first"
	print_env
	;;
*)
	printf 'usage: %s start|stop|status|env|stop-one NAME|start-one NAME\n' "$0" >&2
	exit 2
	;;
esac
