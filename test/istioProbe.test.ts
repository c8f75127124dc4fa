import * as assert from "node:assert/strict";
import { istioOperatorFor, ProbeResult, receivedServices } from "./e2e/istio";

describe("reading what an xDS probe received", () => {
    const result = (clusters: string[]): ProbeResult => ({ node: "n", namespace: "shop", clusters, listeners: [], routes: [], virtualHosts: {}, routeClusters: {}, bytes: { cds: 0, lds: 0, rds: 0 }, seconds: 0 });

    it("names the Service behind each outbound cluster once, whatever its ports and subsets", () => {
        const got = receivedServices(result([
            "BlackHoleCluster",
            "InboundPassthroughCluster",
            "PassthroughCluster",
            "outbound|80||smoke-echo.shop.svc.cluster.local",
            "outbound|8080||smoke-echo.shop.svc.cluster.local",
            "outbound|80|v1|smoke-echo.payments.svc.cluster.local",
            "inbound|8080||",
        ]));
        assert.deepEqual(got, { services: ["payments/smoke-echo", "shop/smoke-echo"], other: [] });
    });

    it("keeps clusters that are neither a Service nor built in apart, so a test can see them", () => {
        const got = receivedServices(result(["outbound|443||api.example.com", "xds-grpc"]));
        assert.deepEqual(got, { services: [], other: ["outbound|443||api.example.com", "xds-grpc"] });
    });
});

describe("the IstioOperator for istioctl's rendering of the plan's istiod values", () => {
    it("moves revision and meshConfig to their IstioOperator fields and leaves the rest as chart values", () => {
        const iop = istioOperatorFor({ revision: "team-a", meshConfig: { rootNamespace: "istio-team-a" }, global: { istioNamespace: "istio-team-a" }, pilot: { env: { A: "1" } } }) as any;
        assert.equal(iop.spec.revision, "team-a");
        assert.deepEqual(iop.spec.meshConfig, { rootNamespace: "istio-team-a" });
        assert.deepEqual(iop.spec.values, { global: { istioNamespace: "istio-team-a" }, pilot: { env: { A: "1" } } });
        assert.equal(iop.spec.components.base.enabled, false);
    });
});
