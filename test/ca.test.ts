import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { planTenancy, plannedObjects } from "../plan";
import { configIssues, validConfig, validRaw } from "./harness/configs";
import { registerConfig } from "./harness/program";

/**
 * The CA topology setting (`istio.ca`): what the program writes for one shared root, and the material it refuses.
 * Certificates are made with openssl as an operator following Istio's "Plug in CA certificates" would make them.
 */
describe("istio.ca: per-usergroup roots or one shared root", () => {
    let dir: string;
    const pem = (name: string) => fs.readFileSync(path.join(dir, name), "utf8");
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    const root = (name: string) => {
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}-key.pem`, "-out", `${name}-cert.pem`, "-days", "2", "-subj", `/O=mesh-tenancy test/CN=${name}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    };
    const intermediate = (name: string, signer: string, ca = true) => {
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}-key.pem`, "-out", `${name}.csr`, "-subj", `/O=mesh-tenancy test/CN=${name}`);
        fs.writeFileSync(path.join(dir, `${name}.ext`), ca ? "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n" : "basicConstraints=critical,CA:FALSE\n");
        openssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${signer}-cert.pem`, "-CAkey", `${signer}-key.pem`, "-CAcreateserial", "-out", `${name}-cert.pem`, "-days", "2", "-extfile", `${name}.ext`);
    };

    before(function () {
        this.timeout(60_000);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-tenancy-ca-"));
        root("root");
        root("other-root");
        intermediate("ug1", "root");
        intermediate("ug2", "root");
        intermediate("stranger", "other-root");
        intermediate("leaf", "root", false);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const shared = (overrides: Record<string, Record<string, string>> = {}, rootCert = pem("root-cert.pem")) => (raw: any) => {
        raw.istio.ca = {
            roots: "shared-root",
            rootCert,
            usergroups: {
                "usergroup-1": { caCert: pem("ug1-cert.pem"), caKey: pem("ug1-key.pem"), ...overrides["usergroup-1"] },
                "usergroup-2": { caCert: pem("ug2-cert.pem"), caKey: pem("ug2-key.pem"), ...overrides["usergroup-2"] },
            },
        };
    };

    it("per-usergroup by default: each istiod makes its own root, the program writes no CA", () => {
        const config = validConfig();
        assert.deepEqual(config.istio.ca, { topology: "per-usergroup", pluggedIn: {} });
        assert.ok(planTenancy(config).controlPlanes.every((cp) => cp.caSecret === undefined));
    });

    it("shared-root: a cacerts Secret in each system namespace, its chain the intermediate then the root", () => {
        const plan = planTenancy(validConfig(shared()));
        for (const [cp, name] of plan.controlPlanes.map((c, i) => [c, `ug${i + 1}`] as const)) {
            const secret = cp.caSecret?.object as any;
            assert.ok(secret, `${cp.usergroup}: no cacerts Secret`);
            assert.deepEqual([secret.kind, secret.metadata.name, secret.metadata.namespace], ["Secret", "cacerts", cp.systemNamespace]);
            assert.deepEqual(Object.keys(secret.stringData).sort(), ["ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"]);
            assert.equal(secret.stringData["ca-key.pem"], pem(`${name}-key.pem`));
            assert.equal(secret.stringData["cert-chain.pem"], `${pem(`${name}-cert.pem`).trim()}\n${pem("root-cert.pem").trim()}\n`);
        }
        assert.equal(plannedObjects(plan).filter((o) => o.kind === "Secret").length, 2);
    });

    it("the program registers each cacerts Secret as a core Secret, its data secret, before the usergroup's istiod", async function () {
        this.timeout(60_000);
        const mocks = await registerConfig(validConfig(shared()));
        const secret = mocks.byName("usergroup-1-cacerts");
        assert.equal(secret.type, "kubernetes:core/v1:Secret");
        // The engine's secret wrapper: the signature key and the secret signature around the value.
        assert.equal(secret.inputs.stringData?.[pulumi.runtime.specialSigKey], pulumi.runtime.specialSecretSig, "stringData is a secret");
        assert.equal(secret.inputs.stringData.value["ca-key.pem"], pem("ug1-key.pem"));
        assert.ok(mocks.byName("usergroup-1-istiod").dependencies.includes(secret.urn), "istiod waits for its CA");
    });

    it("refuses material that would not give one root, naming the key", () => {
        const messages = (mutate: (raw: any) => void) => {
            const raw = validRaw();
            mutate(raw);
            return configIssues(raw).map((i) => `${i.path}: ${i.message}`);
        };

        assert.deepEqual(messages((raw) => shared()(raw)), []);
        assert.match(messages((raw) => (shared()(raw), delete raw.istio.ca.usergroups["usergroup-2"])).join("\n"), /^istio\.ca\.usergroups\.usergroup-2: is required with roots: shared-root/m);
        assert.match(messages(shared({ "usergroup-2": { caKey: pem("ug1-key.pem") } })).join("\n"), /^istio\.ca\.usergroups\.usergroup-2\.caKey: is not the private key of caCert/m);
        assert.match(messages(shared({ "usergroup-2": { caCert: pem("stranger-cert.pem"), caKey: pem("stranger-key.pem") } })).join("\n"), /^istio\.ca\.usergroups\.usergroup-2\.certChain: does not chain to rootCert/m);
        assert.match(messages(shared({ "usergroup-1": { caCert: pem("leaf-cert.pem"), caKey: pem("leaf-key.pem") } })).join("\n"), /^istio\.ca\.usergroups\.usergroup-1\.caCert: must be a CA certificate/m);
        assert.match(messages(shared({}, pem("ug1-cert.pem"))).join("\n"), /^istio\.ca\.rootCert: must be a self-signed CA certificate/m);
        assert.match(messages(shared({}, "not a certificate")).join("\n"), /^istio\.ca\.rootCert: is not a PEM certificate/m);
        assert.match(messages((raw) => (raw.istio.ca = { roots: "shared-root" })).join("\n"), /^istio\.ca\.rootCert: is required with roots: shared-root/m);
        assert.match(messages((raw) => (raw.istio.ca = { roots: "per-usergroup", rootCert: pem("root-cert.pem") })).join("\n"), /^istio\.ca\.rootCert: only with roots: shared-root/m);
        assert.match(messages((raw) => (shared()(raw), (raw.istio.ca.usergroups.nobody = raw.istio.ca.usergroups["usergroup-1"]))).join("\n"), /^istio\.ca\.usergroups\.nobody: no usergroup is named "nobody"/m);
        assert.match(messages((raw) => (raw.istio.ca = { roots: "one-root" })).join("\n"), /^istio\.ca\.roots: must be one of "per-usergroup", "shared-root"/m);
    });
});
