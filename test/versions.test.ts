import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness/configs";
import { enhancedResourceScoping, gatewayApiVersion, isSupported, istioMinor, parseIstioVersion, releaseDate, supportEnds, supports } from "../policy/semantics/versions";

describe("Istio version table", () => {
    it("reads minors from exact versions, bare minors and image tags, and nothing else", () => {
        assert.equal(istioMinor("1.31.0"), 31);
        assert.equal(istioMinor("1.31"), 31);
        assert.equal(istioMinor("1.21.6-distroless"), 21);
        assert.equal(istioMinor("1.3"), 3);
        assert.equal(istioMinor("2.0.0"), undefined);
        assert.equal(istioMinor("latest"), undefined);
        assert.equal(istioMinor("11.31.0"), undefined);
        assert.deepEqual(parseIstioVersion("1.32.0-beta.1"), { major: 1, minor: 32, patch: 0 });
        assert.equal(parseIstioVersion("1.31"), undefined);
    });

    it("ends each minor's support six weeks after the release two minors later", () => {
        assert.equal(supportEnds(29), "2026-10-01");
        assert.equal(supportEnds(28), "2026-06-26");
        assert.equal(supportEnds(24), "2025-06-17");
        assert.equal(supportEnds(30), undefined, "1.32.0 is not in the table");
        assert.equal(releaseDate(31), "2026-08-20");
    });

    it("supports 1.30 and 1.31 at the end of November 2026, and neither 1.29 nor an unreleased minor", () => {
        const day = "2026-11-28";
        assert.deepEqual([28, 29, 30, 31, 32].filter((m) => isSupported(m, day)), [30, 31]);
        assert.equal(isSupported(29, "2026-10-01"), true);
        assert.equal(isSupported(29, "2026-10-02"), false);
        assert.equal(isSupported(31, "2026-08-19"), false);
    });

    it("knows from which release each flag and field exists", () => {
        assert.deepEqual(["1.19.9", "1.20.0", "1.24.3", "1.25.0"].map((v) => supports("enhancedResourceScopingFlag", v)), [false, true, true, false]);
        assert.deepEqual(["1.21.4", "1.22.0"].map((v) => supports("v1Apis", v)), [false, true]);
        assert.deepEqual(["1.27.9", "1.28.0"].map((v) => supports("istiodChartNetworkPolicy", v)), [false, true]);
        assert.deepEqual(["1.27.9", "1.28.0"].map((v) => supports("validationFailurePolicy", v)), [false, true]);
        assert.deepEqual(["1.29.6", "1.30.0"].map((v) => supports("authorizationTrustDomains", v)), [false, true]);
        assert.deepEqual(["1.30.8", "1.31.0", "1.32.0"].map((v) => supports("sidecarEgressExclusions", v)), [false, true, true]);
        assert.deepEqual(["1.30.8", "1.31.0"].map((v) => supports("serviceEntryVisibility", v)), [false, true]);
        assert.equal(supports("v1Apis", "not-a-version"), false);
    });

    it("says how istiod treats enhanced resource scoping when nothing sets it", () => {
        assert.equal(enhancedResourceScoping("1.19.0"), "absent");
        assert.equal(enhancedResourceScoping("1.21.6"), "default-off");
        assert.equal(enhancedResourceScoping("1.24.3"), "default-on");
        assert.equal(enhancedResourceScoping("1.31.0"), "absent");
        assert.equal(enhancedResourceScoping("2.0.0"), "absent");
        assert.equal(enhancedResourceScoping("latest"), "unknown");
        assert.equal(enhancedResourceScoping(undefined), "unknown");
    });

    it("names the Gateway API release each minor's Istio module requires, as the toolchain's go.mod files pin it", () => {
        for (const [dir, version] of [["istio", "1.31.0"], ["istio-1.30", "1.30.0"]]) {
            const gomod = fs.readFileSync(path.join(ROOT, "scripts", "toolchain", dir, "go.mod"), "utf8");
            const required = /^\s*sigs\.k8s\.io\/gateway-api (v\S+)/m.exec(gomod)?.[1];
            assert.equal(gatewayApiVersion(version), required, `${dir}/go.mod`);
        }
        assert.equal(gatewayApiVersion("1.29.0"), undefined);
    });
});
