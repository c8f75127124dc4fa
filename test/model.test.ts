import * as assert from "node:assert/strict";
import { parseConfig } from "../model/config";
import { ConfigError } from "../model/issues";
import { configFromStack } from "../model/stack";
import { ALL_STACKS, configIssues, loadStack, validRaw } from "./harness/configs";

function issuesOf(mutate: (raw: any) => void): { path: string; message: string }[] {
    const raw = validRaw();
    mutate(raw);
    return configIssues(raw);
}

interface Case {
    name: string;
    mutate: (raw: any) => void;
    path: string;
    message: RegExp;
}

const ug1 = (raw: any) => raw.usergroups[0];
const t0 = (raw: any) => raw.usergroups[0].tenants[0];

const cases: Case[] = [
    { name: "unknown top-level key (typo)", mutate: (r) => (r.protectNamespace = true), path: "protectNamespace", message: /unknown key "protectNamespace" \(did you mean "protectNamespaces"\?\)/ },
    { name: "unknown tenant key", mutate: (r) => (t0(r).egres = []), path: "usergroups[0].tenants[0].egres", message: /unknown key "egres" \(did you mean "egress"\?\)/ },
    { name: "unknown istio key", mutate: (r) => (r.istio.chartRepo = "https://x"), path: "istio.chartRepo", message: /unknown key/ },
    { name: "missing istio.version", mutate: (r) => delete r.istio.version, path: "istio.version", message: /is required/ },
    { name: "istio.version not exact", mutate: (r) => (r.istio.version = "1.24"), path: "istio.version", message: /not an exact chart version/ },
    { name: "istio.version too old", mutate: (r) => (r.istio.version = "1.18.2"), path: "istio.version", message: /not supported/ },
    { name: "istio.version out of support", mutate: (r) => (r.istio.version = "1.28.4"), path: "istio.version", message: /chart values for Istio 1\.29 to 1\.32; Istio 1\.28 went out of support on 2026-06-26/ },
    { name: "istio.version newer than the known charts", mutate: (r) => (r.istio.version = "1.33.0"), path: "istio.version", message: /newer than the charts .* unverified/ },
    { name: "istio.version of another major", mutate: (r) => (r.istio.version = "2.0.0"), path: "istio.version", message: /not supported/ },
    { name: "monitoring namespace not DNS-1123", mutate: (r) => (r.controlPlaneAccess = { monitoringNamespace: "Mon" }), path: "controlPlaneAccess.monitoringNamespace", message: /not a DNS-1123 label/ },
    { name: "monitoring namespace is a tenant", mutate: (r) => (r.controlPlaneAccess = { monitoringNamespace: "logmonkey" }), path: "controlPlaneAccess.monitoringNamespace", message: /declared at usergroups\[0\]\.tenants\[1\]\.name; .*every usergroup's istiod/ },
    { name: "monitoring namespace is a system namespace", mutate: (r) => (r.controlPlaneAccess = { monitoringNamespace: "usergroup-2" }), path: "controlPlaneAccess.monitoringNamespace", message: /declared at usergroups\[1\]\.name/ },
    { name: "unknown controlPlaneAccess key", mutate: (r) => (r.controlPlaneAccess = { monitoringNamespaces: "m" }), path: "controlPlaneAccess.monitoringNamespaces", message: /did you mean "monitoringNamespace"/ },
    { name: "API server CIDR not a CIDR", mutate: (r) => (r.controlPlaneAccess = { apiServerCidrs: ["10.0.0.0/8", "10.1.2.3"] }), path: "controlPlaneAccess.apiServerCidrs[1]", message: /not a CIDR/ },
    { name: "API server CIDR with host bits", mutate: (r) => (r.controlPlaneAccess = { apiServerCidrs: ["10.0.0.1/8"] }), path: "controlPlaneAccess.apiServerCidrs[0]", message: /bits set after the \/8 prefix/ },
    { name: "API server CIDR prefix too long", mutate: (r) => (r.controlPlaneAccess = { apiServerCidrs: ["10.0.0.0/33"] }), path: "controlPlaneAccess.apiServerCidrs[0]", message: /not a CIDR/ },
    { name: "API server IPv6 CIDR malformed", mutate: (r) => (r.controlPlaneAccess = { apiServerCidrs: ["fd00:::1/64"] }), path: "controlPlaneAccess.apiServerCidrs[0]", message: /not a CIDR/ },
    { name: "API server CIDRs empty", mutate: (r) => (r.controlPlaneAccess = { apiServerCidrs: [] }), path: "controlPlaneAccess.apiServerCidrs", message: /at least one CIDR/ },
    { name: "istio.version wrong type", mutate: (r) => (r.istio.version = 1.24), path: "istio.version", message: /string/ },
    { name: "both chart sources", mutate: (r) => Object.assign(r.istio, { chartRepository: "https://charts.example.com", chartDirectory: "./charts" }), path: "istio.chartDirectory", message: /either chartRepository or chartDirectory, not both/ },
    { name: "empty chart directory", mutate: (r) => (r.istio.chartDirectory = " "), path: "istio.chartDirectory", message: /must not be empty/ },
    { name: "chart repository not a URL", mutate: (r) => (r.istio.chartRepository = "charts.example.com"), path: "istio.chartRepository", message: /not an http\(s\):\/\/ or oci:\/\/ URL/ },
    { name: "defaultRevision names no usergroup", mutate: (r) => (r.istio.defaultRevision = "usergroup-9"), path: "istio.defaultRevision", message: /names no usergroup/ },
    { name: "tenant name not DNS-1123", mutate: (r) => (r.usergroups[1].tenants[0].name = "App_1"), path: "usergroups[1].tenants[0].name", message: /"App_1" is not a DNS-1123 label/ },
    { name: "tenant name too long", mutate: (r) => (t0(r).name = "a".repeat(64)), path: "usergroups[0].tenants[0].name", message: /longer than 63 characters/ },
    { name: "usergroup name not DNS-1123", mutate: (r) => (ug1(r).name = "UG.1"), path: "usergroups[0].name", message: /not a DNS-1123 label/ },
    { name: "usergroup named default", mutate: (r) => (ug1(r).name = "default"), path: "usergroups[0].name", message: /default revision tag/ },
    { name: "duplicate usergroup", mutate: (r) => (r.usergroups[1].name = "usergroup-1"), path: "usergroups[1].name", message: /already defined at usergroups\[0\]/ },
    { name: "namespace used as tenant twice", mutate: (r) => (r.usergroups[1].tenants[0].name = "app-ns-1"), path: "usergroups[1].tenants[0].name", message: /"app-ns-1" is already used at usergroups\[0\]\.tenants\[0\]\.name/ },
    { name: "tenant reuses a system namespace", mutate: (r) => (t0(r).name = "usergroup-2"), path: "usergroups[1].name", message: /already used at usergroups\[0\]\.tenants\[0\]\.name/ },
    { name: "tenant reuses a shared namespace", mutate: (r) => (r.usergroups[0].tenants[1].name = "common-services"), path: "usergroups[0].tenants[1].name", message: /already used at usergroups\[0\]\.sharedNamespaces\[0\]/ },
    { name: "shared namespace listed by two usergroups", mutate: (r) => (r.usergroups[1].sharedNamespaces = ["common-services"]), path: "usergroups[1].sharedNamespaces[0]", message: /already shared by usergroup "usergroup-1"/ },
    { name: "reserved namespace as tenant", mutate: (r) => (t0(r).name = "kube-system"), path: "usergroups[0].tenants[0].name", message: /reserved Kubernetes namespace/ },
    { name: "reserved namespace default as shared", mutate: (r) => (ug1(r).sharedNamespaces = ["default"]), path: "usergroups[0].sharedNamespaces[0]", message: /reserved/ },
    { name: "reserved system namespace", mutate: (r) => (ug1(r).systemNamespace = "kube-public"), path: "usergroups[0].systemNamespace", message: /reserved/ },
    { name: "egress to another usergroup", mutate: (r) => t0(r).egress.push("app-ns-2/*"), path: "usergroups[0].tenants[0].egress[1]", message: /belongs to usergroup "usergroup-2"/ },
    { name: "egress to another usergroup's system namespace", mutate: (r) => t0(r).egress.push("usergroup-2/*"), path: "usergroups[0].tenants[0].egress[1]", message: /belongs to usergroup "usergroup-2"/ },
    { name: "egress to an unknown namespace", mutate: (r) => t0(r).egress.push("monitoring/*"), path: "usergroups[0].tenants[0].egress[1]", message: /"monitoring" is not declared/ },
    { name: "egress without namespace", mutate: (r) => t0(r).egress.push("logcatcher.logmonkey.svc.cluster.local"), path: "usergroups[0].tenants[0].egress[1]", message: /must be "namespace\/host"/ },
    { name: "egress */*", mutate: (r) => t0(r).egress.push("*/*"), path: "usergroups[0].tenants[0].egress[1]", message: /every namespace/ },
    { name: "egress */host", mutate: (r) => t0(r).egress.push("*/api.example.com"), path: "usergroups[0].tenants[0].egress[1]", message: /every namespace/ },
    { name: "egress ./host", mutate: (r) => t0(r).egress.push("./api"), path: "usergroups[0].tenants[0].egress[1]", message: /only "\.\/\*"/ },
    { name: "egress ~/*", mutate: (r) => t0(r).egress.push("~/*"), path: "usergroups[0].tenants[0].egress[1]", message: /imports nothing/ },
    { name: "egress exclusion", mutate: (r) => t0(r).egress.push("~logmonkey/admin.logmonkey.svc.cluster.local"), path: "usergroups[0].tenants[0].egress[1]", message: /egress exclusion: Istio has them from 1\.31 only/ },
    { name: "egress malformed host", mutate: (r) => t0(r).egress.push("logmonkey/Bad_Host"), path: "usergroups[0].tenants[0].egress[1]", message: /not a DNS name/ },
    { name: "workload Sidecar egress to another usergroup", mutate: (r) => t0(r).workloadSidecars[0].egress.push("app-ns-3/*"), path: "usergroups[0].tenants[0].workloadSidecars[0].egress[1]", message: /belongs to usergroup "usergroup-2"/ },
    { name: "gateway host claimed twice", mutate: (r) => (r.usergroups[0].tenants[1].gateway = { hosts: ["app1.example.com"] }), path: "usergroups[0].tenants[1].gateway.hosts[0]", message: /already claimed at usergroups\[0\]\.tenants\[0\]\.gateway\.hosts\[0\]/ },
    { name: "gateway wildcard overlaps a host", mutate: (r) => (r.usergroups[1].tenants[0].gateway = { hosts: ["*.example.com"] }), path: "usergroups[1].tenants[0].gateway.hosts[0]", message: /overlaps "app1\.example\.com"/ },
    { name: "gateway without hosts", mutate: (r) => (t0(r).gateway = { hosts: [] }), path: "usergroups[0].tenants[0].gateway.hosts", message: /at least one host/ },
    { name: "gateway bad service type", mutate: (r) => (t0(r).gateway.serviceType = "External"), path: "usergroups[0].tenants[0].gateway.serviceType", message: /must be one of "LoadBalancer", "NodePort", "ClusterIP"/ },
    { name: "workload Sidecar without selector", mutate: (r) => delete t0(r).workloadSidecars[0].selector, path: "usergroups[0].tenants[0].workloadSidecars[0].selector", message: /needs a non-empty selector/ },
    { name: "workload Sidecar with empty selector", mutate: (r) => (t0(r).workloadSidecars[0].selector = {}), path: "usergroups[0].tenants[0].workloadSidecars[0].selector", message: /needs a non-empty selector/ },
    { name: "two workload Sidecars with the same selector", mutate: (r) => t0(r).workloadSidecars.push({ name: "other", selector: { "app.kubernetes.io/name": "batman-app" } }), path: "usergroups[0].tenants[0].workloadSidecars[1].selector", message: /selects the same pods as .*workloadSidecars\[0\]/ },
    { name: "workload Sidecars that overlap", mutate: (r) => t0(r).workloadSidecars.push({ name: "narrower", selector: { "app.kubernetes.io/name": "batman-app", tier: "web" } }), path: "usergroups[0].tenants[0].workloadSidecars[1].selector", message: /overlaps/ },
    { name: "workload Sidecar named default", mutate: (r) => (t0(r).workloadSidecars[0].name = "default"), path: "usergroups[0].tenants[0].workloadSidecars[0].name", message: /selector-less Sidecar/ },
    { name: "owner with unknown kind", mutate: (r) => (t0(r).owners[0].kind = "Team"), path: "usergroups[0].tenants[0].owners[0].kind", message: /must be one of/ },
    { name: "Group owner with a namespace", mutate: (r) => (t0(r).owners[0].namespace = "x"), path: "usergroups[0].tenants[0].owners[0].namespace", message: /only ServiceAccount/ },
    { name: "ServiceAccount owner of another tenant", mutate: (r) => (t0(r).owners[0] = { kind: "ServiceAccount", name: "deployer", namespace: r.usergroups[0].tenants[1].name }), path: "usergroups[0].tenants[0].owners[0].namespace", message: /is declared at usergroups\[0\]\.tenants\[1\]\.name .*may not own tenant/ },
    { name: "ServiceAccount owner of an undeclared namespace", mutate: (r) => (t0(r).owners[0] = { kind: "ServiceAccount", name: "deployer", namespace: "ci" }), path: "usergroups[0].tenants[0].owners[0].namespace", message: /list "system:serviceaccount:ci:deployer" in platformOperators\.users/ },
    { name: "managed label set by hand", mutate: (r) => (t0(r).labels = { "istio-injection": "enabled" }), path: "usergroups[0].tenants[0].labels.istio-injection", message: /managed by mesh-tenancy/ },
    { name: "tenantIsolation unknown", mutate: (r) => (ug1(r).tenantIsolation = "cluster"), path: "usergroups[0].tenantIsolation", message: /must be one of "namespace", "usergroup"/ },
    { name: "no usergroups", mutate: (r) => (r.usergroups = []), path: "usergroups", message: /at least one usergroup/ },
    { name: "admissionGuardrails unknown", mutate: (r) => (r.admissionGuardrails = "deny"), path: "admissionGuardrails", message: /must be one of "enforce", "warn", "off"/ },
    { name: "guardrails on without platform operators", mutate: (r) => delete r.platformOperators, path: "platformOperators", message: /is required when admissionGuardrails is "enforce"/ },
    { name: "guardrails warn with empty platform operators", mutate: (r) => Object.assign(r, { admissionGuardrails: "warn", platformOperators: { users: [], groups: [] } }), path: "platformOperators", message: /is required when admissionGuardrails is "warn"/ },
    { name: "platform operators that are everyone", mutate: (r) => (r.platformOperators.groups = ["system:authenticated"]), path: "platformOperators.groups[0]", message: /holds every requester/ },
    { name: "platform operators that are a namespace's service accounts", mutate: (r) => (r.platformOperators.groups = ["system:serviceaccounts:ci"]), path: "platformOperators.groups[0]", message: /every requester of a namespace/ },
    { name: "platform operators unknown key", mutate: (r) => (r.platformOperators.user = ["x"]), path: "platformOperators.user", message: /unknown key "user" \(did you mean "users"\?\)/ },
    { name: "protectNamespaces not a boolean", mutate: (r) => (r.protectNamespaces = "yes"), path: "protectNamespaces", message: /boolean/ },
    { name: "smoke workloads' proxyless image missing", mutate: (r) => (r.smokeWorkloads = { proxyless: {} }), path: "smokeWorkloads.proxyless.image", message: /required|expected string/ },
    { name: "smoke workloads' unknown key", mutate: (r) => (r.smokeWorkloads = { proxyles: { image: "x/y:z" } }), path: "smokeWorkloads.proxyles", message: /unknown key "proxyles"/ },
    { name: "smoke workloads neither a boolean nor an object", mutate: (r) => (r.smokeWorkloads = "yes"), path: "smokeWorkloads", message: /must be true, false or/ },
    { name: "istio images unknown key", mutate: (r) => (r.istio.images = { istiod: "x/y:z" }), path: "istio.images.istiod", message: /unknown key "istiod"/ },
    { name: "istio images empty reference", mutate: (r) => (r.istio.images = { proxy: "" }), path: "istio.images.proxy", message: /must not be empty/ },
];

describe("config validation", () => {
    it("accepts the valid example with no problem", () => {
        assert.deepEqual(issuesOf(() => undefined), []);
    });

    it("accepts a service account of another namespace as an owner only when it is a platform operator", () => {
        const owner = (r: any) => (r.usergroups[0].tenants[0].owners[0] = { kind: "ServiceAccount", name: "deployer", namespace: "ci" });
        assert.deepEqual(issuesOf((r) => (owner(r), (r.platformOperators.users = ["system:serviceaccount:ci:deployer"]))), []);
        assert.equal(issuesOf(owner).length, 1);
    });

    for (const stack of ALL_STACKS) {
        it(`accepts stacks/Pulumi.${stack}.yaml`, () => {
            assert.ok(loadStack(stack).usergroups.length > 0);
        });
    }

    it(`has at least 30 invalid cases (${cases.length})`, () => assert.ok(cases.length >= 30));

    for (const c of cases) {
        it(`rejects: ${c.name}`, () => {
            const issues = issuesOf(c.mutate);
            const match = issues.find((i) => i.path === c.path);
            assert.ok(match, `no problem at ${c.path}; got ${JSON.stringify(issues)}`);
            assert.match(match.message, c.message);
        });
    }

    it("reports every problem at once, each with its path, in one message", () => {
        const raw = validRaw();
        raw.usergroups[1].tenants[0].name = "App_1";
        raw.usergroups[0].tenants[0].egress.push("*/*");
        raw.istio.defaultRevision = "nope";
        assert.throws(
            () => parseConfig(raw),
            (err: unknown) => {
                assert.ok(err instanceof ConfigError);
                assert.equal(err.issues.length, 3);
                assert.match(err.message, /usergroups\[1\]\.tenants\[0\]\.name: "App_1" is not a DNS-1123 label/);
                assert.match(err.message, /usergroups\[0\]\.tenants\[0\]\.egress\[1\]: /);
                assert.match(err.message, /istio\.defaultRevision: /);
                return true;
            },
        );
    });

    it("reports schema and cross-reference problems together, each once, at the paths the user wrote", () => {
        const issues = issuesOf((r) => {
            r.istio.chartRepo = "https://charts.example.com"; // schema: unknown key
            r.istio.version = "1.24"; // cross: not an exact version
            r.istio.defaultRevision = "nope"; // cross: names no usergroup
            const tenants = r.usergroups[0].tenants;
            tenants[0].gateway.serviceType = "External"; // schema: not one of the service types
            tenants.splice(1, 0, { name: 42, egress: ["*/*"] }); // schema: the whole tenant is unreadable
            tenants[2].gateway = { hosts: ["app1.example.com"] }; // cross: host of tenants[0]
            tenants[2].egress = ["app-ns-2/*"]; // cross: another usergroup
            r.usergroups[1].tenantIsolation = "cluster"; // schema
            r.usergroups[1].tenants[1].name = "app-ns-1"; // cross: namespace used twice
        });
        const byPath = new Map(issues.map((i) => [i.path, i.message]));
        assert.equal(byPath.size, issues.length, `one problem per path: ${JSON.stringify(issues)}`);
        assert.deepEqual([...byPath.keys()].sort(), [
            "istio.chartRepo",
            "istio.defaultRevision",
            "istio.version",
            "usergroups[0].tenants[0].gateway.serviceType",
            "usergroups[0].tenants[1].name",
            "usergroups[0].tenants[2].egress[0]",
            "usergroups[0].tenants[2].gateway.hosts[0]",
            "usergroups[1].tenantIsolation",
            "usergroups[1].tenants[1].name",
        ]);
        assert.match(byPath.get("usergroups[0].tenants[2].gateway.hosts[0]")!, /already claimed at usergroups\[0\]\.tenants\[0\]\.gateway\.hosts\[0\]/);
        assert.match(byPath.get("usergroups[1].tenants[1].name")!, /already used at usergroups\[0\]\.tenants\[0\]\.name/);
        assert.match(byPath.get("usergroups[0].tenants[1].name")!, /expected string/);
    });

    it("runs the cross-reference checks when a whole section is unreadable", () => {
        const issues = issuesOf((r) => {
            r.istio = { version: 1.24 };
            r.usergroups[1].tenants[0].name = "app-ns-1";
        });
        assert.deepEqual(issues.map((i) => i.path), ["istio.version", "usergroups[1].tenants[0].name"]);
    });

    it("does not repeat a schema problem as a cross-reference problem", () => {
        const issues = issuesOf((r) => (r.usergroups[0].tenants[0].workloadSidecars[0].selector = "app=batman"));
        assert.deepEqual(issues.map((i) => i.path), ["usergroups[0].tenants[0].workloadSidecars[0].selector"]);
        assert.match(issues[0].message, /expected record/);
    });

    it("fills defaults: system namespace, isolation, chart repository, trust domain", () => {
        const config = parseConfig(validRaw());
        assert.equal(config.usergroups[0].systemNamespace, "usergroup-1");
        assert.equal(config.usergroups[0].tenantIsolation, "namespace");
        assert.equal(config.istio.chartSource.repository, "https://istio-release.storage.googleapis.com/charts");
        assert.equal(config.istio.chartSource.directory, undefined);
        assert.equal(config.istio.defaultRevision, "");
        assert.equal(config.istio.trustDomain, "cluster.local");
        assert.equal(config.protectNamespaces, false);
    });

    it("reads only its own namespace from the stack config and reports typos in top-level keys", () => {
        const all = { "mesh-tenancy:istio": JSON.stringify({ version: "1.31.0" }), "mesh-tenancy:admissionGuardrails": "off", "mesh-tenancy:usergroups": JSON.stringify([{ name: "a" }]), "kubernetes:context": "kind" };
        assert.equal(configFromStack(all, "mesh-tenancy").usergroups[0].name, "a");
        assert.throws(() => configFromStack({ ...all, "mesh-tenancy:localclustr": "true" }, "mesh-tenancy"), /localclustr: unknown key "localclustr" \(did you mean "localCluster"\?\)/);
    });
});

describe("usergroupsFile", () => {
    const fs = require("fs") as typeof import("fs");
    const os = require("os") as typeof import("os");
    const path = require("path") as typeof import("path");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "usergroups-file-"));
    const stack = (extra: Record<string, string>) => ({ "mesh-tenancy:istio": JSON.stringify({ version: "1.31.0" }), "mesh-tenancy:admissionGuardrails": "off", ...extra });

    it("reads the usergroups list from a YAML file beside the stack, as a list or under the key usergroups", () => {
        fs.writeFileSync(path.join(dir, "list.yaml"), "- name: a\n  tenants: [{name: t1}]\n");
        fs.writeFileSync(path.join(dir, "map.yaml"), "usergroups:\n  - name: b\n");
        assert.equal(configFromStack(stack({ "mesh-tenancy:usergroupsFile": "list.yaml" }), "mesh-tenancy", dir).usergroups[0].tenants[0].name, "t1");
        assert.equal(configFromStack(stack({ "mesh-tenancy:usergroupsFile": "map.yaml" }), "mesh-tenancy", dir).usergroups[0].name, "b");
    });

    it("names the key when the file is missing, not YAML, not a list, or given beside usergroups", () => {
        fs.writeFileSync(path.join(dir, "bad.yaml"), "usergroups: [\n");
        fs.writeFileSync(path.join(dir, "scalar.yaml"), "just text\n");
        const cases: Array<[Record<string, string>, RegExp]> = [
            [{ "mesh-tenancy:usergroupsFile": "missing.yaml" }, /usergroupsFile: cannot read "missing.yaml" .*ENOENT/],
            [{ "mesh-tenancy:usergroupsFile": "bad.yaml" }, /usergroupsFile: "bad.yaml" is not valid YAML/],
            [{ "mesh-tenancy:usergroupsFile": "scalar.yaml" }, /usergroupsFile: "scalar.yaml" must hold a list of usergroups/],
            [{ "mesh-tenancy:usergroupsFile": "list.yaml", "mesh-tenancy:usergroups": JSON.stringify([{ name: "c" }]) }, /usergroupsFile: give either usergroups or usergroupsFile, not both/],
        ];
        for (const [extra, message] of cases) assert.throws(() => configFromStack(stack(extra), "mesh-tenancy", dir), message);
    });
});
