# Sourced by the local-cluster scripts: puts the built toolchain on PATH and points Pulumi at a file backend and a
# private PULUMI_HOME next to the cluster state, so nothing touches the user's own Pulumi setup.
# Expects: scripts_dir. Sets: bin_dir, state_dir, PATH, KUBECONFIG and the PULUMI_* variables.
bin_dir=${MESH_TENANCY_BIN:-$("$scripts_dir/build-toolchain.sh" | tail -n 1)}
state_dir=${MESH_TENANCY_CLUSTER_DIR:-/tmp/mesh-tenancy-cluster}
export MESH_TENANCY_BIN=$bin_dir
export MESH_TENANCY_CLUSTER_DIR=$state_dir
export PATH=$bin_dir:$PATH
export KUBECONFIG=$state_dir/kubeconfig
export PULUMI_HOME=${MESH_TENANCY_PULUMI_HOME:-$state_dir/pulumi-home}
export PULUMI_BACKEND_URL=${MESH_TENANCY_BACKEND_URL:-file://$state_dir/backend}
export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE:-local-only}
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
mkdir -p "$PULUMI_HOME" "${PULUMI_BACKEND_URL#file://}"
