import * as assert from "node:assert/strict";
import * as networking from "@kubernetes-models/istio/networking.istio.io/v1beta1";
import * as security from "@kubernetes-models/istio/security.istio.io/v1beta1";
import { planTenancy, plannedObjects, KubeObject } from "../plan";
import { STACKS, loadStack } from "./harness/configs";

/** Istio's published schemas, checked at v1beta1 (the same schema Istio serves as v1). */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
    Sidecar: networking.Sidecar,
    Gateway: networking.Gateway,
    PeerAuthentication: security.PeerAuthentication,
    AuthorizationPolicy: security.AuthorizationPolicy,
};

function validateIstioObject(object: KubeObject): void {
    const Model = MODELS[object.kind];
    assert.ok(Model, `no schema for ${object.kind}`);
    const group = object.apiVersion.split("/")[0];
    new Model({ ...object, apiVersion: `${group}/v1beta1` }).validate();
}

describe("planned Istio objects validate against Istio's schemas", () => {
    for (const stack of STACKS) {
        it(`stacks/Pulumi.${stack}.yaml`, () => {
            const objects = plannedObjects(planTenancy(loadStack(stack))).filter((o) => o.apiVersion.includes("istio.io"));
            assert.ok(objects.length > 5);
            for (const object of objects) validateIstioObject(object);
        });
    }

    it("and the check can fail: a Sidecar whose hosts are not a list is refused", () => {
        const bad: KubeObject = { apiVersion: "networking.istio.io/v1", kind: "Sidecar", metadata: { name: "x", namespace: "y" }, spec: { egress: [{ hosts: "./*" }] } };
        assert.throws(() => validateIstioObject(bad));
    });
});
