# Sourced by the local-cluster scripts: puts the built toolchain and the project's own Node.js on PATH, points Pulumi at
# a file backend and a private PULUMI_HOME next to the cluster state, so nothing touches the user's own Pulumi setup,
# and installs the built Kubernetes provider into that PULUMI_HOME, where the engine looks for plugins.
# Expects: scripts_dir. Sets: bin_dir, state_dir, PATH, KUBECONFIG and the PULUMI_* variables.
bin_dir=${MESH_TENANCY_BIN:-$("$scripts_dir/build-toolchain.sh" | tail -n 1)}
state_dir=${MESH_TENANCY_CLUSTER_DIR:-/tmp/mesh-tenancy-cluster}
# The `node` devDependency (see package.json engines): first on PATH here as npm scripts have it, so that the language
# host and the policy pack run on it even when a script is started outside npm.
node_bin_dir=$(cd "$scripts_dir/.." && pwd)/node_modules/.bin
[ -x "$node_bin_dir/node" ] || { echo "pulumi-env: $node_bin_dir/node is missing: run npm ci first" >&2; return 1; }
export MESH_TENANCY_BIN=$bin_dir
export MESH_TENANCY_CLUSTER_DIR=$state_dir
export PATH=$bin_dir:$node_bin_dir:$PATH
export KUBECONFIG=$state_dir/kubeconfig
export PULUMI_HOME=${MESH_TENANCY_PULUMI_HOME:-$state_dir/pulumi-home}
export PULUMI_BACKEND_URL=${MESH_TENANCY_BACKEND_URL:-file://$state_dir/backend}
export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE:-local-only}
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# Plugins come from PULUMI_HOME only, not from PATH (where the bin dir also holds the provider): the engine then
# matches the version the SDK asks for instead of taking whatever binary PATH has, and warns about neither.
export PULUMI_IGNORE_AMBIENT_PLUGINS=true
# The file backend rewrites the whole state after every step, which makes an update quadratic in the stack's size
# (a 400-tenant `up` did not finish in 16 minutes; 89 s without it). The state is written once, at the end, instead.
# A run killed half-way leaves the state as it was before the run, and the next `up` converges: every create is a
# server-side apply (an upsert) and deleting what is already gone succeeds (docs/scaling.md; the killed up of operations.e2e.ts).
# MESH_TENANCY_CHECKPOINTS=every-step restores the engine's default.
if [ "${MESH_TENANCY_CHECKPOINTS:-at-end}" = every-step ]; then
	unset PULUMI_SKIP_CHECKPOINTS
else
	export PULUMI_SKIP_CHECKPOINTS=true
fi
mkdir -p "$PULUMI_HOME" "${PULUMI_BACKEND_URL#file://}"

# shellcheck source=toolchain/versions.env
. "$scripts_dir/toolchain/versions.env"
installed_provider=$PULUMI_HOME/plugins/resource-kubernetes-$PULUMI_KUBERNETES_VERSION/pulumi-resource-kubernetes
if ! cmp -s "$bin_dir/pulumi-resource-kubernetes" "$installed_provider"; then
	pulumi plugin install resource kubernetes "$PULUMI_KUBERNETES_VERSION" --reinstall \
		--file "$bin_dir/pulumi-resource-kubernetes" >/dev/null
fi
unset installed_provider
