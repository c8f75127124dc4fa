import * as k8s from "@pulumi/kubernetes";

// The kind of change the policy pack exists to stop: a team joins a revision but keeps the legacy injection label,
// and widens its Sidecar to every namespace in the mesh.
const ns = new k8s.core.v1.Namespace("payments-ns", {
    metadata: { name: "payments", labels: { usergroup: "team-a", "istio.io/rev": "team-a", "istio-injection": "enabled" } },
});

new k8s.apiextensions.CustomResource("payments-sidecar", {
    apiVersion: "networking.istio.io/v1",
    kind: "Sidecar",
    metadata: { name: "default", namespace: "payments" },
    spec: { egress: [{ hosts: ["./*", "*/*"] }] },
}, { dependsOn: [ns] });
