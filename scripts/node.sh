#!/usr/bin/env bash
# One node for the local control plane of scripts/cluster.sh: containerd and
# runc from Debian packages, the CNI bridge plugin on a bridge of its own,
# kubelet, kube-proxy and kube-scheduler built from k8s.io/kubernetes, and
# kube-router enforcing NetworkPolicies (firewall only). Images are built here
# from one Go binary (scripts/toolchain/node-images) and imported, never pulled.
# Everything lives under the cluster's state dir (see scripts/README.md).
#
# Usage: scripts/node.sh install|check|network|start|stop|status
#   install  apt-get the packages the node needs when they are missing
#            (exit 3 when this machine cannot: not root, or no apt-get)
#   check    exit 0 when this machine can run the node, else say why (exit 3)
#   network  the node's bridge and the kernel settings it needs (cluster.sh
#            makes it before the API server, which then listens on it too)
#   start    start the node against the running control plane; wait for Ready
#   stop     stop it and remove what it left: pod tasks, bridge, veths,
#            KUBE-* iptables chains, ipsets, mounts
#   status   print whether each process is running
#
# Environment: MESH_TENANCY_CLUSTER_DIR and MESH_TENANCY_READY_TIMEOUT as for
# cluster.sh; MESH_TENANCY_SERVICE_CIDR as cluster.sh was started with;
# MESH_TENANCY_NODE_BIN, a dir holding kubelet, kube-proxy, kube-scheduler, coredns,
# kube-router, echoprobe and kubectl, pilot-discovery for istiod's image, and
# pilot-agent, istio-echo and mesh-caller for the proxyless image (default:
# whatever build-toolchain.sh prints for those, the Istio ones included where
# they are built already).
set -euo pipefail

scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=cluster-common.sh
. "$scripts_dir/cluster-common.sh"
node_dir=$state_dir/node

# The node's address is the bridge's own (cluster-common.sh), the pods'
# gateway: the API server reaches the kubelet there, and the pods the API server.
node_name=mesh-tenancy-node
bridge=$node_bridge
pause_image=mesh-tenancy.local/pause:local
echo_image=mesh-tenancy.local/echoprobe:local
# istiod, from the toolchain's pilot-discovery (the e2e sets the chart's `image` to it).
pilot_image=mesh-tenancy.local/pilot:local
# Istio's data plane without Envoy (proxyless gRPC), when the bin dir holds
# pilot-agent, istio-echo and mesh-caller: pilot-agent is the entrypoint the
# grpc-agent injection template runs; the app containers name the other two.
proxyless_image=mesh-tenancy.local/proxyless:local
# The cluster's DNS (CoreDNS, from the coredns tool), at the tenth address of
# the Service range, as kubeadm places it.
coredns_image=mesh-tenancy.local/coredns:local
dns_ip=$(printf '%s' "${service_cidr%/*}" | awk -F. '{ printf "%d.%d.%d.%d", $1, $2, $3, $4 + 10 }')
# Started in this order, stopped in the reverse one.
processes=(containerd kubelet kube-proxy kube-scheduler kube-router)
packages=(containerd runc containernetworking-plugins iptables ipset iproute2)
cni_bin=/usr/lib/cni

log() { printf 'node: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

sock=$node_dir/containerd/containerd.sock
ctr_() { ctr --address "$sock" -n k8s.io "$@"; }

launch() { # NAME COMMAND...
	local name=$1
	shift
	setsid "$@" </dev/null >"$state_dir/$name.log" 2>&1 &
	echo $! >"$state_dir/$name.pid"
}

# wait_until NAME WHAT COMMAND...: polls COMMAND until it succeeds while NAME runs.
wait_until() {
	local name=$1 what=$2 deadline=$((SECONDS + ready_timeout))
	shift 2
	until "$@" >/dev/null 2>&1; do
		is_running "$name" || die "$name exited; last lines of $state_dir/$name.log:
$(tail -n 20 "$state_dir/$name.log" 2>/dev/null)"
		[ "$SECONDS" -lt "$deadline" ] || die "$what not seen after ${ready_timeout}s; see $state_dir/$name.log"
		sleep 0.5
	done
}

# missing_packages: prints the Debian packages whose programs are not here.
missing_packages() {
	command -v containerd >/dev/null && command -v ctr >/dev/null || echo containerd
	command -v runc >/dev/null || echo runc
	[ -x "$cni_bin/bridge" ] && [ -x "$cni_bin/host-local" ] && [ -x "$cni_bin/portmap" ] &&
		[ -x "$cni_bin/loopback" ] || echo containernetworking-plugins
	command -v iptables >/dev/null || echo iptables
	command -v ipset >/dev/null || echo ipset
	command -v ip >/dev/null || echo iproute2
}

# cannot_run: prints why this machine cannot run the node, if it cannot.
cannot_run() {
	[ "$(uname -s)" = Linux ] || { echo "the node needs Linux"; return; }
	[ "$(id -u)" = 0 ] || { echo "the node needs root (containerd, bridges, iptables)"; return; }
	[ -d /sys/fs/cgroup ] || { echo "no cgroups mounted at /sys/fs/cgroup"; return; }
	local missing
	missing=$(missing_packages | tr '\n' ' ')
	if [ -n "$missing" ] && ! command -v apt-get >/dev/null; then
		echo "missing ${missing% } and no apt-get to install them"
	fi
}

install() {
	local why missing
	why=$(cannot_run)
	[ -z "$why" ] || { log "cannot run a node here: $why"; exit 3; }
	mapfile -t missing < <(missing_packages)
	if [ "${#missing[@]}" -eq 0 ]; then
		log "packages present: ${packages[*]}"
		return 0
	fi
	log "installing ${missing[*]} with apt-get"
	apt-get update -qq >&2 || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
		die "apt-get install ${missing[*]} failed"
	mapfile -t missing < <(missing_packages)
	[ "${#missing[@]}" -eq 0 ] || die "still missing after apt-get: ${missing[*]}"
}

check() {
	local why
	why=$(cannot_run)
	[ -z "$why" ] || { log "cannot run a node here: $why"; exit 3; }
}

# oci_image DIR REF CONFIG_JSON LAYER_TAR: writes an OCI image layout to DIR
# with one uncompressed layer, named REF for `ctr images import`.
oci_image() {
	local dir=$1 ref=$2 config_json=$3 layer=$4 layer_digest layer_size config_digest manifest manifest_digest
	rm -rf "$dir"
	mkdir -p "$dir/blobs/sha256"
	layer_digest=$(sha256sum "$layer" | cut -d' ' -f1)
	layer_size=$(stat -c %s "$layer")
	cp "$layer" "$dir/blobs/sha256/$layer_digest"
	printf '%s' "${config_json//@DIFF_ID@/sha256:$layer_digest}" >"$dir/config.json"
	config_digest=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
	mv "$dir/config.json" "$dir/blobs/sha256/$config_digest"
	manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"$config_digest" "$(stat -c %s "$dir/blobs/sha256/$config_digest")" "$layer_digest" "$layer_size")
	printf '%s' "$manifest" >"$dir/manifest.json"
	manifest_digest=$(sha256sum "$dir/manifest.json" | cut -d' ' -f1)
	mv "$dir/manifest.json" "$dir/blobs/sha256/$manifest_digest"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
		"$manifest_digest" "${#manifest}" "$ref" "${ref##*:}" >"$dir/index.json"
}

# images BIN: the pause and echoprobe images, both the one echoprobe binary
# (FROM scratch) with different entrypoints, imported into containerd; and,
# when BIN holds pilot-discovery, istiod's image (that binary alone, where the
# official chart runs it); when it holds Istio's proxyless data plane, its image. The echoprobe image's root stays in images/rootfs:
# node.e2e.ts probes from the node with it.
images() {
	local bin=$1 work=$node_dir/images config
	rm -rf "$work"
	mkdir -p "$work/rootfs"
	cp "$bin/echoprobe" "$work/rootfs/echoprobe"
	chmod 755 "$work/rootfs/echoprobe"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/rootfs" -cf "$work/layer.tar" echoprobe
	local ref entrypoint user
	for ref in "$pause_image" "$echo_image"; do
		# pause runs as nobody like the upstream image; echoprobe as an unprivileged user too.
		if [ "$ref" = "$pause_image" ]; then entrypoint='["/echoprobe","pause"]'; user=65535; else entrypoint='["/echoprobe"]'; user=65532; fi
		import_image "$work" "$ref" "$user" "$entrypoint" "$work/layer.tar"
	done
	if [ -x "$bin/pilot-discovery" ]; then
		mkdir -p "$work/pilot/usr/local/bin"
		cp "$bin/pilot-discovery" "$work/pilot/usr/local/bin/pilot-discovery"
		chmod 755 "$work/pilot/usr/local/bin/pilot-discovery"
		# Readable and traversable by the chart's user (1337) whatever the caller's umask, the image's root included.
		tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --mode=u+rwX,go+rX -C "$work/pilot" -cf "$work/pilot-layer.tar" .
		# The chart runs the image's entrypoint with its own arguments, as user 1337.
		import_image "$work" "$pilot_image" 1337 '["/usr/local/bin/pilot-discovery"]' "$work/pilot-layer.tar"
		rm -rf "$work/pilot" "$work/pilot-layer.tar"
	fi
	if [ -x "$bin/pilot-agent" ] && [ -x "$bin/istio-echo" ] && [ -x "$bin/mesh-caller" ]; then
		mkdir -p "$work/proxyless/usr/local/bin"
		for b in pilot-agent istio-echo mesh-caller; do
			cp "$bin/$b" "$work/proxyless/usr/local/bin/$b"
			chmod 755 "$work/proxyless/usr/local/bin/$b"
		done
		tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --mode=u+rwX,go+rX -C "$work/proxyless" -cf "$work/proxyless-layer.tar" .
		# The template runs the image's entrypoint (`proxy sidecar ...`) as user 1337.
		import_image "$work" "$proxyless_image" 1337 '["/usr/local/bin/pilot-agent"]' "$work/proxyless-layer.tar"
		rm -rf "$work/proxyless" "$work/proxyless-layer.tar"
	fi
	mkdir -p "$work/coredns"
	cp "$bin/coredns" "$work/coredns/coredns"
	chmod 755 "$work/coredns/coredns"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --mode=u+rwX,go+rX -C "$work/coredns" -cf "$work/coredns-layer.tar" .
	import_image "$work" "$coredns_image" 65532 '["/coredns"]' "$work/coredns-layer.tar"
	rm -rf "$work/coredns" "$work/coredns-layer.tar"
}

# dns: CoreDNS in kube-system behind the kube-dns Service at $dns_ip (the
# kubelet's clusterDNS), answering for cluster.local from the API server's
# Services and EndpointSlices; it listens on 1053 as an unprivileged user.
dns() {
	"$kubectl" --kubeconfig "$kubeconfig" apply --server-side --field-manager mesh-tenancy-node -f - >/dev/null <<MANIFESTS
apiVersion: v1
kind: ServiceAccount
metadata: { name: coredns, namespace: kube-system }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "system:coredns" }
rules:
  - { apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch] }
  - { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "system:coredns" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns" }
subjects: [{ kind: ServiceAccount, name: coredns, namespace: kube-system }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: coredns, namespace: kube-system }
data:
  Corefile: |
    .:1053 {
        errors
        health :8080
        ready :8181
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
        }
        cache 30
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: coredns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  replicas: 1
  selector: { matchLabels: { k8s-app: kube-dns } }
  template:
    metadata: { labels: { k8s-app: kube-dns } }
    spec:
      serviceAccountName: coredns
      dnsPolicy: Default
      containers:
        - name: coredns
          image: $coredns_image
          imagePullPolicy: Never
          args: [-conf, /etc/coredns/Corefile]
          ports: [{ containerPort: 1053, protocol: UDP, name: dns }, { containerPort: 1053, protocol: TCP, name: dns-tcp }]
          readinessProbe: { httpGet: { path: /ready, port: 8181 }, periodSeconds: 2 }
          livenessProbe: { httpGet: { path: /health, port: 8080 } }
          resources: { requests: { cpu: 10m, memory: 32Mi } }
          volumeMounts: [{ name: config, mountPath: /etc/coredns, readOnly: true }]
      volumes: [{ name: config, configMap: { name: coredns } }]
---
apiVersion: v1
kind: Service
metadata: { name: kube-dns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  clusterIP: $dns_ip
  selector: { k8s-app: kube-dns }
  ports:
    - { name: dns, port: 53, targetPort: 1053, protocol: UDP }
    - { name: dns-tcp, port: 53, targetPort: 1053, protocol: TCP }
MANIFESTS
	"$kubectl" --kubeconfig "$kubeconfig" -n kube-system rollout status deployment coredns --timeout=120s >/dev/null ||
		die "CoreDNS did not become Ready; see kubectl -n kube-system describe pod -l k8s-app=kube-dns"
}

# import_image WORK REF USER ENTRYPOINT LAYER: one image of LAYER, imported.
import_image() {
	local work=$1 ref=$2 user=$3 entrypoint=$4 layer=$5 config out
	out=$work/${ref##*/}
	config=$(printf '{"architecture":"amd64","os":"linux","config":{"User":"%s","Entrypoint":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["@DIFF_ID@"]}}' "$user" "$entrypoint")
	oci_image "$out" "$ref" "$config" "$layer"
	tar -C "$out" -cf "$out.tar" .
	ctr_ images import "$out.tar" >/dev/null || die "importing $ref failed"
	rm -rf "$out" "$out.tar"
}

write_containerd_config() {
	local d=$node_dir/containerd
	mkdir -p "$d/root" "$d/state" "$d/opt" "$node_dir/cni/net.d"
	cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
[grpc]
  address = "$sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  # This machine withholds CAP_SYS_RESOURCE: without it, runc fails every pod
  # sandbox setting its OOM score.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$cni_bin"
    conf_dir = "$node_dir/cni/net.d"
    max_conf_num = 1
EOF
	# containerd's CRI sets up each pod's loopback itself, so the list holds
	# the pod's interface: a veth on the bridge, an address from host-local.
	cat >"$node_dir/cni/net.d/10-mesh-tenancy.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "mesh-tenancy",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$node_dir/cni/ipam",
        "ranges": [[{ "subnet": "$pod_cidr", "gateway": "$node_ip" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
}

write_kubelet_config() {
	local d=$node_dir/kubelet
	mkdir -p "$d/root" "$node_dir/pod-logs"
	cat >"$d/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$sock
address: $node_ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
podLogsDir: $node_dir/pod-logs
# The API server presents a client certificate of the cluster's CA; kubelet
# asks the API server whether it may (system:masters may).
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $state_dir/pki/ca.crt }
authorization:
  mode: Webhook
# This machine: cgroups v1 through cgroupfs (no systemd), no swap accounting,
# no QoS or allocatable cgroups of the kubelet's own.
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
cgroupsPerQOS: false
enforceNodeAllocatable: []
localStorageCapacityIsolation: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%" }
podCIDR: $pod_cidr
# Pods resolve Service names through CoreDNS (see dns()).
clusterDNS: [$dns_ip]
clusterDomain: cluster.local
registerNode: true
serializeImagePulls: false
EOF
}

setup_network() {
	sysctl -qw net.ipv4.ip_forward=1
	# Pod-to-pod packets cross the bridge without being routed; iptables (and so
	# kube-router's policy chains) sees them only with this.
	sysctl -qw net.bridge.bridge-nf-call-iptables=1
	ip link show "$bridge" >/dev/null 2>&1 || ip link add "$bridge" type bridge
	ip addr replace "$node_ip/${pod_cidr#*/}" dev "$bridge"
	ip link set "$bridge" up
}

node_ready() {
	[ "$("$kubectl" --kubeconfig "$kubeconfig" get node "$node_name" \
		-o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# Nothing schedules on the node while the taint it registered with is on.
node_schedulable() {
	local taints
	taints=$("$kubectl" --kubeconfig "$kubeconfig" get node "$node_name" -o jsonpath='{.spec.taints[*].key}') || return 1
	[[ $taints != *node.kubernetes.io/not-ready* ]]
}

start() {
	[ -f "$kubeconfig" ] || die "no control plane in $state_dir; start it with scripts/cluster.sh"
	check
	[ -z "$(missing_packages)" ] || die "missing packages: $(missing_packages | tr '\n' ' ')(run scripts/node.sh install)"
	local bin=${MESH_TENANCY_NODE_BIN:-}
	if [ -z "$bin" ]; then
		bin=$("$scripts_dir/build-toolchain.sh" kubelet kube-proxy kube-scheduler kube-router echoprobe coredns kubectl | tail -n 1)
	fi
	local t
	for t in kubelet kube-proxy kube-scheduler kube-router echoprobe coredns kubectl; do
		[ -x "$bin/$t" ] || die "$bin/$t is missing; run scripts/build-toolchain.sh $t"
	done
	kubectl=$bin/kubectl
	if is_running kubelet && is_running containerd && node_ready; then
		log "already running"
		return 0
	fi
	stop_node_processes
	# The bridge stays: the API server may listen on its address.
	cleanup keep-bridge

	local begin=$SECONDS
	# What containerd and kubelet make for pods (image roots, volumes) must be readable by the pods' users: the
	# caller's umask may be stricter (cluster.sh's is 077, for its keys).
	umask 022
	rm -rf "$node_dir"
	mkdir -p "$node_dir"
	setup_network
	write_containerd_config
	write_kubelet_config

	log "starting containerd"
	# Images are imported, never pulled, and no registry may be tried: a pod
	# naming an image that is not here (a chart's) fails at once on a proxy
	# that does not exist instead of reaching out.
	launch containerd env HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY= \
		containerd --config "$node_dir/containerd/config.toml"
	wait_until containerd "containerd's socket" ctr --address "$sock" version
	images "$bin"
	log "images imported: $pause_image, $echo_image, $coredns_image$([ -x "$bin/pilot-discovery" ] && echo ", $pilot_image")$([ -x "$bin/pilot-agent" ] && echo ", $proxyless_image")"

	log "starting kubelet ($node_name at $node_ip)"
	launch kubelet "$bin/kubelet" \
		--config "$node_dir/kubelet/config.yaml" \
		--kubeconfig "$kubeconfig" \
		--root-dir "$node_dir/kubelet/root" \
		--cert-dir "$node_dir/kubelet/pki" \
		--hostname-override "$node_name" \
		--node-ip "$node_ip"
	wait_until kubelet "node $node_name" "$kubectl" --kubeconfig "$kubeconfig" get node "$node_name"

	log "starting kube-proxy, kube-scheduler and kube-router"
	# The conntrack settings are the machine's, shared with everything else on
	# it: kube-proxy leaves them as they are (0).
	launch kube-proxy "$bin/kube-proxy" \
		--kubeconfig "$kubeconfig" \
		--hostname-override "$node_name" \
		--cluster-cidr "$cluster_cidr" \
		--proxy-mode iptables \
		--nodeport-addresses primary \
		--conntrack-max-per-core 0 \
		--conntrack-tcp-timeout-established 0 \
		--conntrack-tcp-timeout-close-wait 0 \
		--metrics-bind-address "127.0.0.1:$(free_port)" \
		--healthz-bind-address=
	launch kube-scheduler "$bin/kube-scheduler" \
		--kubeconfig "$kubeconfig" \
		--authentication-kubeconfig "$kubeconfig" \
		--authorization-kubeconfig "$kubeconfig" \
		--leader-elect=false \
		--bind-address 127.0.0.1 \
		--secure-port 0
	# Firewall only: pods are on the CNI bridge and kube-proxy serves Services.
	launch kube-router "$bin/kube-router" \
		--kubeconfig "$kubeconfig" \
		--hostname-override "$node_name" \
		--run-firewall=true \
		--run-router=false \
		--run-service-proxy=false \
		--run-loadbalancer=false \
		--enable-cni=false \
		--enable-ipv6=false \
		--service-cluster-ip-range "$service_cidr" \
		--health-port 0 \
		--metrics-port 0

	wait_until kubelet "node $node_name Ready" node_ready
	wait_until kubelet "node $node_name without its not-ready taint (kube-controller-manager's node-lifecycle-controller takes it off)" node_schedulable
	sleep 1
	for t in kube-proxy kube-scheduler kube-router; do
		is_running "$t" || die "$t exited; last lines of $state_dir/$t.log:
$(tail -n 20 "$state_dir/$t.log" 2>/dev/null)"
	done
	dns
	log "node $node_name Ready in $((SECONDS - begin))s (pods on $pod_cidr, bridge $bridge, cluster DNS at $dns_ip)"
}

# Our containerd's shims outlive it; they are the processes started with its socket.
shim_pids() {
	local pid
	# (the kernel keeps 15 characters of a process name: containerd-shim-runc-v2 shows as containerd-shim)
	for pid in $(pgrep -x containerd-shim 2>/dev/null || true); do
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-address $sock "; then echo "$pid"; fi
	done
}

stop_node_processes() {
	stop_one kube-router
	stop_one kube-scheduler
	stop_one kube-proxy
	stop_one kubelet
	if is_running containerd; then
		local id
		for id in $(ctr_ tasks ls -q 2>/dev/null); do
			ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
		done
		sleep 0.5
		for id in $(ctr_ tasks ls -q 2>/dev/null); do
			ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true
		done
	fi
	stop_one containerd
	local pid
	for pid in $(shim_pids); do stop_pid containerd-shim "$pid"; done
}

# Removes what the node's processes leave in the machine's shared state; the
# bridge too unless told to keep it.
cleanup() {
	local table rule chain set m
	# Jumps from the built-in chains first, then the chains themselves.
	if command -v iptables >/dev/null; then
		for table in filter nat mangle raw; do
			iptables -t "$table" -S 2>/dev/null | awk '$1 == "-A" && $2 !~ /^KUBE-/ && / -j KUBE-/ {sub(/^-A /, "-D "); print}' |
				while read -r rule; do eval "iptables -t $table $rule" || true; done
			mapfile -t chains < <(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}')
			for chain in "${chains[@]}"; do iptables -t "$table" -F "$chain" 2>/dev/null || true; done
			for chain in "${chains[@]}"; do iptables -t "$table" -X "$chain" 2>/dev/null || true; done
		done
	fi
	if command -v ipset >/dev/null; then
		for set in $(ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router-)' || true); do ipset destroy "$set" 2>/dev/null || true; done
	fi
	# Mounts under the node dir (pod volumes, rootfs overlays, sandbox shm and
	# netns), deepest first; unmounting a netns lets its veth go with it.
	for m in $(awk -v d="$node_dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	if ip link show "$bridge" >/dev/null 2>&1; then
		local veth
		for veth in $(ip -o link show master "$bridge" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
			ip link delete "$veth" 2>/dev/null || true
		done
		[ "${1:-}" = keep-bridge ] || ip link delete "$bridge" 2>/dev/null || true
	fi
}

stop() {
	stop_node_processes
	cleanup
	rm -rf "$node_dir/containerd/root" "$node_dir/containerd/state" "$node_dir/kubelet/root"
}

status() {
	local name rc=0
	for name in "${processes[@]}"; do
		if is_running "$name"; then
			printf '%s: running (pid %s)\n' "$name" "$(cat "$state_dir/$name.pid")"
		else
			printf '%s: stopped\n' "$name"
			rc=1
		fi
	done
	return "$rc"
}

case ${1:-} in
install) install ;;
check) check ;;
network)
	check
	setup_network
	;;
start) start ;;
stop) stop ;;
status) status ;;
*)
	printf 'usage: %s install|check|network|start|stop|status\n' "$0" >&2
	exit 2
	;;
esac
