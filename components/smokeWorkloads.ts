import * as kx from "@pulumi/kubernetesx";
import * as pulumi from "@pulumi/pulumi";
import { SERVICE_EXPORT_TO_ANNOTATION } from "../policy/semantics/labels";

export interface SmokeWorkloadsArgs {
    namespace: string;
    /** Namespaces allowed to import the echo Service (`networking.istio.io/exportTo`). */
    exportTo: string[];
}

const SMOKE_IMAGES = {
    client: "curlimages/curl:8.11.1",
    echo: "mccutchen/go-httpbin:v2.15.0",
};

/**
 * A client and an echo server, as in Istio's own install checks: `kubectl exec deploy/smoke-client -- curl
 * smoke-echo.<ns>/get` shows which namespaces a tenant can reach.
 */
export class SmokeWorkloads extends pulumi.ComponentResource {
    constructor(name: string, args: SmokeWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mesh-tenancy:index:SmokeWorkloads", name, {}, opts);
        const echoPod = new kx.PodBuilder({
            containers: [{ name: "echo", image: SMOKE_IMAGES.echo, ports: { http: 8080 } }],
        });
        const echo = new kx.Deployment(`${name}-echo`, {
            metadata: { name: "smoke-echo", namespace: args.namespace, labels: { app: "smoke-echo" } },
            spec: echoPod.asDeploymentSpec({ replicas: 1 }),
        }, { parent: this });
        new kx.Service(`${name}-echo`, {
            metadata: {
                name: "smoke-echo",
                namespace: args.namespace,
                annotations: { [SERVICE_EXPORT_TO_ANNOTATION]: args.exportTo.join(",") },
            },
            spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }], selector: echo.spec.selector.matchLabels },
        }, { parent: this });
        const clientPod = new kx.PodBuilder({
            containers: [{ name: "client", image: SMOKE_IMAGES.client, command: ["sleep", "infinity"] }],
        });
        new kx.Deployment(`${name}-client`, {
            metadata: { name: "smoke-client", namespace: args.namespace, labels: { app: "smoke-client" } },
            spec: clientPod.asDeploymentSpec({ replicas: 1 }),
        }, { parent: this });
        this.registerOutputs({});
    }
}
