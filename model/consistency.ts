import { checkCa } from "./ca";
import type { ParsedConfig } from "./config";
import { ConfigIssue, formatPath } from "./issues";
import { parseEgressHost } from "./egress";
import { cidrProblem, dnsLabelProblem, hostnameProblem, labelKeyProblem, labelValueProblem, RESERVED_NAMESPACES } from "./names";
import { istioVersionProblem } from "./version";
import { parseStackPart } from "./stackPart";
import { DEFAULT_TAG, derivedRevisionName, revisionName, tagLabel } from "./revisions";
import { IstioVersion, MAX_CANARY_MINOR_SKEW, parseIstioVersion } from "../policy/semantics/versions";
import { HostClaims } from "../policy/semantics/hosts";
import { selectorRelation } from "../policy/semantics/selectors";

/** Labels the program owns on every namespace; users may not set them. */
const MANAGED_LABEL_KEYS = new Set(["usergroup", "istio.io/rev", "istio-injection"]);
const MANAGED_LABEL_PREFIX = "mesh-tenancy.io/";

type Path = ReadonlyArray<string | number>;

/** A config whose shape is valid, except that a broken `istio` or `usergroups` section may have been left out. */
export type CheckableConfig = Omit<ParsedConfig, "istio" | "usergroups"> & Partial<Pick<ParsedConfig, "istio" | "usergroups">>;

interface NamespaceClaim {
    usergroup: string;
    path: string;
}

/**
 * Cross-field checks on a config whose shape is already valid: names, uniqueness of namespaces and hosts, and that
 * every reference (egress, defaultRevision) resolves inside the right usergroup. `origin` maps a path in `config` to
 * the path the user wrote, where parts of the input were left out before these checks.
 */
export function checkConsistency(config: CheckableConfig, origin: (path: Path) => ReadonlyArray<PropertyKey> = (p) => p): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const at = (path: Path) => formatPath(origin(path));
    const report = (path: Path, message: string) => issues.push({ path: at(path), message });
    const usergroups = config.usergroups ?? [];

    if (config.istio !== undefined) {
        checkIstio(config.istio, report);
        checkCa(config.istio.ca, usergroups.map((u) => u.name).filter((n): n is string => typeof n === "string"), report);
    }
    checkPlatformOperators(config, report);

    const usergroupNames = new Map<string, number>();
    const namespaces = new Map<string, NamespaceClaim>();
    const sharedBy = new Map<string, string>();
    const claim = (ns: string, usergroup: string, path: Path) => {
        const problem = dnsLabelProblem(ns) ?? (RESERVED_NAMESPACES.has(ns) ? `"${ns}" is a reserved Kubernetes namespace` : undefined);
        if (problem !== undefined) {
            report(path, problem);
            return;
        }
        const earlier = namespaces.get(ns);
        if (earlier !== undefined) {
            report(path, `namespace "${ns}" is already used at ${earlier.path}; a namespace belongs to exactly one place`);
            return;
        }
        namespaces.set(ns, { usergroup, path: at(path) });
    };

    usergroups.forEach((ug, u) => {
        const ugPath: Path = ["usergroups", u];
        const nameProblem = dnsLabelProblem(ug.name);
        if (nameProblem !== undefined) {
            report([...ugPath, "name"], nameProblem);
        } else if (ug.name === "default") {
            report([...ugPath, "name"], `"default" is the name of Istio's default revision tag; choose another usergroup name`);
        } else if (usergroupNames.has(ug.name)) {
            report([...ugPath, "name"], `usergroup "${ug.name}" is already defined at ${at(["usergroups", usergroupNames.get(ug.name)!])}`);
        } else {
            usergroupNames.set(ug.name, u);
        }
        claim(ug.systemNamespace ?? ug.name, ug.name, ug.systemNamespace !== undefined ? [...ugPath, "systemNamespace"] : [...ugPath, "name"]);
        ug.sharedNamespaces.forEach((ns, s) => {
            const other = sharedBy.get(ns);
            if (other !== undefined && other !== ug.name) {
                report([...ugPath, "sharedNamespaces", s], `shared namespace "${ns}" is already shared by usergroup "${other}"; a namespace can be discovered by one revision only`);
                return;
            }
            sharedBy.set(ns, ug.name);
            claim(ns, ug.name, [...ugPath, "sharedNamespaces", s]);
        });
        ug.tenants.forEach((t, i) => claim(t.name, ug.name, [...ugPath, "tenants", i, "name"]));
    });

    if (config.controlPlaneAccess !== undefined) checkControlPlaneAccess(config.controlPlaneAccess, namespaces, report);
    if (config.istio !== undefined && config.usergroups !== undefined) checkRevisions(config as ParsedConfig, report);

    if (config.stackPart !== undefined) {
        const part = parseStackPart(config.stackPart);
        if (part === undefined) {
            report(["stackPart"], `"${config.stackPart}" is not a part; use "all", "platform" or "usergroup:<name>" (usergroups: ${[...usergroupNames.keys()].join(", ") || "none"})`);
        } else if (part.kind === "usergroup" && config.usergroups !== undefined && !usergroupNames.has(part.usergroup)) {
            report(["stackPart"], `"${config.stackPart}" names no usergroup (known: ${[...usergroupNames.keys()].join(", ") || "none"})`);
        }
    }
    if (config.istio !== undefined && config.usergroups !== undefined && config.istio.defaultRevision !== "" && !usergroupNames.has(config.istio.defaultRevision)) {
        report(["istio", "defaultRevision"], `"${config.istio.defaultRevision}" names no usergroup (known: ${[...usergroupNames.keys()].join(", ") || "none"}); use "" for no default revision`);
    }

    const gatewayHosts = new HostClaims<string>();
    usergroups.forEach((ug, u) => {
        const usergroupOf = (ns: string) => namespaces.get(ns)?.usergroup;
        const checkEgress = (entries: string[], path: Path) => {
            entries.forEach((entry, e) => {
                const parsed = parseEgressHost(entry);
                if ("problem" in parsed) {
                    report([...path, e], parsed.problem);
                    return;
                }
                if (parsed.namespace === ".") {
                    return;
                }
                const owner = usergroupOf(parsed.namespace);
                if (owner === undefined) {
                    report([...path, e], `"${entry}": namespace "${parsed.namespace}" is not declared in this config (as a tenant, shared or system namespace)`);
                } else if (owner !== ug.name) {
                    report([...path, e], `"${entry}": namespace "${parsed.namespace}" belongs to usergroup "${owner}"; tenants import only namespaces of their own usergroup ("${ug.name}")`);
                }
            });
        };
        ug.tenants.forEach((t, i) => {
            const tPath: Path = ["usergroups", u, "tenants", i];
            checkEgress(t.egress, [...tPath, "egress"]);
            checkLabels(t.labels, [...tPath, "labels"], report);
            checkWorkloadSidecars(t.workloadSidecars, [...tPath, "workloadSidecars"], report, at, checkEgress);
            t.owners.forEach((o, k) => {
                if (o.namespace !== undefined && o.kind !== "ServiceAccount") {
                    report([...tPath, "owners", k, "namespace"], `only ServiceAccount owners have a namespace`);
                } else if (o.namespace !== undefined) {
                    const p = dnsLabelProblem(o.namespace);
                    if (p !== undefined) report([...tPath, "owners", k, "namespace"], p);
                    else if (o.namespace !== t.name) {
                        // The owner role writes the tenant's Istio config and workloads: a service account elsewhere
                        // holding it lets whatever runs there rewrite this tenant (policy MT022). Only the platform's
                        // own deployers may, and then the guardrails and the pack must know them as operators.
                        const user = `system:serviceaccount:${o.namespace}:${o.name}`;
                        if (!(config.platformOperators?.users ?? []).includes(user)) {
                            const claim = namespaces.get(o.namespace);
                            const where = claim === undefined ? `namespace "${o.namespace}" is not this tenant's` : `namespace "${o.namespace}" is declared at ${claim.path} (usergroup "${claim.usergroup}")`;
                            report([...tPath, "owners", k, "namespace"], `${where}: a service account of another namespace may not own tenant "${t.name}" (whatever runs there could rewrite it); omit namespace for the tenant's own, or list "${user}" in platformOperators.users (and in the policy pack's who-may-write-a-tenant.platformOperatorUsers) if it deploys for the platform`);
                        }
                    }
                }
            });
            t.gateway?.hosts.forEach((host, h) => {
                const hPath: Path = [...tPath, "gateway", "hosts", h];
                const problem = hostnameProblem(host);
                if (problem !== undefined) {
                    report(hPath, problem);
                    return;
                }
                const clash = gatewayHosts.find(host);
                if (clash !== undefined) {
                    report(hPath, clash.host === host ? `host "${host}" is already claimed at ${clash.claim}` : `host "${host}" overlaps "${clash.host}" claimed at ${clash.claim}`);
                    return;
                }
                gatewayHosts.add(host, at(hPath));
            });
            if (t.gateway?.tlsCredentialName !== undefined) {
                const p = dnsSubdomainProblem(t.gateway.tlsCredentialName);
                if (p !== undefined) report([...tPath, "gateway", "tlsCredentialName"], p);
            }
        });
    });
    return issues;
}

type Usergroup = ParsedConfig["usergroups"][number];

/**
 * Revisions and tags: at most two revisions per usergroup, within the minor skew a canary upgrade supports and no newer
 * than the base chart's CRDs; every tag points at a revision the usergroup runs; every tenant follows a tag that exists;
 * and every `istio.io/rev` value (revision or tag) is unique in the cluster, since injectors match it cluster-wide.
 */
function checkRevisions(config: ParsedConfig, report: (path: Path, message: string) => void): void {
    const base = parseIstioVersion(config.istio.version);
    const revValues = new Map<string, string>();
    const claimRevValue = (value: string, path: Path, what: string) => {
        const earlier = revValues.get(value);
        if (earlier !== undefined) report(path, `${what} "${value}" is already used at ${earlier}; istio.io/rev values are cluster-wide`);
        else revValues.set(value, formatPath(path));
    };
    config.usergroups.forEach((ug, u) => {
        const ugPath: Path = ["usergroups", u];
        if (ug.revisions === undefined) {
            claimRevValue(ug.name, [...ugPath, "name"], "revision");
            if (ug.tags !== undefined) report([...ugPath, "tags"], `tags need \`revisions\`: without them the usergroup runs one revision named "${ug.name}" and its namespaces name it directly`);
            ug.tenants.forEach((t, i) => {
                if (t.tag !== undefined) report([...ugPath, "tenants", i, "tag"], `follows tag "${t.tag}", but usergroup "${ug.name}" lists no \`revisions\` and so has no tags`);
            });
            return;
        }
        const names = checkRevisionList(ug, ugPath, base, config.istio.version, report);
        names.forEach((name, r) => claimRevValue(name, [...ugPath, "revisions", r, ug.revisions![r].name !== undefined ? "name" : "version"], "revision"));
        const tags = ug.tags ?? (ug.revisions.length === 1 ? { [DEFAULT_TAG]: names[0] } : undefined);
        if (tags === undefined) {
            report([...ugPath, "tags"], `is required when two revisions run: say which revision "${DEFAULT_TAG}" (and "canary", if used) points at (revisions: ${names.join(", ")})`);
            return;
        }
        if (tags[DEFAULT_TAG] === undefined) {
            report([...ugPath, "tags"], `must define "${DEFAULT_TAG}": shared namespaces, and tenants that name no tag, follow it`);
        }
        for (const [tag, target] of Object.entries(tags)) {
            const tPath: Path = [...ugPath, "tags", tag];
            const problem = dnsLabelProblem(tag) ?? dnsLabelProblem(tagLabel(ug.name, tag));
            if (problem !== undefined) {
                report(tPath, `tag ${problem}`);
                continue;
            }
            claimRevValue(tagLabel(ug.name, tag), tPath, "tag");
            if (!names.includes(target)) {
                report(tPath, `points at revision "${target}", which usergroup "${ug.name}" does not run (revisions: ${names.join(", ")}); a tag must be moved before its revision is removed`);
            }
        }
        ug.tenants.forEach((t, i) => {
            if (t.tag !== undefined && tags[t.tag] === undefined) {
                report([...ugPath, "tenants", i, "tag"], `follows tag "${t.tag}", which usergroup "${ug.name}" does not define (tags: ${Object.keys(tags).join(", ")})`);
            }
        });
    });
}

/** Checks one usergroup's revision list and returns the revision names, in list order. */
function checkRevisionList(ug: Usergroup, ugPath: Path, base: IstioVersion | undefined, baseVersion: string, report: (path: Path, message: string) => void): string[] {
    const revisions = ug.revisions!;
    if (revisions.length > 2) {
        report([...ugPath, "revisions"], `lists ${revisions.length} revisions; at most two run at once: the one in use and the one being upgraded to`);
    }
    const names: string[] = [];
    const versions: Array<IstioVersion | undefined> = [];
    revisions.forEach((r, i) => {
        const rPath: Path = [...ugPath, "revisions", i];
        const v = parseIstioVersion(r.version);
        versions.push(v);
        const versionProblem = istioVersionProblem(r.version);
        if (versionProblem !== undefined) {
            report([...rPath, "version"], versionProblem);
        } else if (v !== undefined && base !== undefined && compareVersions(v, base) > 0) {
            report([...rPath, "version"], `"${r.version}" is newer than istio.version "${baseVersion}": the base chart's CRDs, shared by every revision, must be upgraded first`);
        }
        const name = revisionName(ug.name, r);
        names.push(name);
        const problem = dnsLabelProblem(name);
        if (problem !== undefined) {
            report(r.name !== undefined ? [...rPath, "name"] : [...rPath, "version"], `revision name ${problem}${r.name === undefined ? " (derived from the usergroup and version; give `name`)" : ""}`);
        }
        const earlier = names.indexOf(name);
        if (earlier < i) {
            const derived = r.name === undefined && derivedRevisionName(ug.name, r.version) === name;
            report(r.name !== undefined ? [...rPath, "name"] : [...rPath, "version"], `revision "${name}" is already defined at ${formatPath([...ugPath, "revisions", earlier])}${derived ? "; a patch release of the same minor upgrades that revision in place (change its version), or give one of them a `name`" : ""}`);
        }
    });
    if (revisions.length === 2 && versions[0] !== undefined && versions[1] !== undefined) {
        const [a, b] = versions as IstioVersion[];
        const skew = Math.abs(a.minor - b.minor);
        if (a.major !== b.major || skew > MAX_CANARY_MINOR_SKEW) {
            report([...ugPath, "revisions", 1, "version"], `"${revisions[1].version}" and "${revisions[0].version}" are ${skew} minor versions apart; a canary upgrade may jump at most ${MAX_CANARY_MINOR_SKEW} (Istio's canary upgrade guide): upgrade through a release in between first`);
        }
    }
    return names;
}

function compareVersions(a: IstioVersion, b: IstioVersion): number {
    return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

function checkIstio(istio: ParsedConfig["istio"], report: (path: Path, message: string) => void): void {
    const versionProblem = istioVersionProblem(istio.version);
    if (versionProblem !== undefined) report(["istio", "version"], versionProblem);
    if (istio.chartRepository !== undefined && istio.chartDirectory !== undefined) {
        report(["istio", "chartDirectory"], "give either chartRepository or chartDirectory, not both");
    }
    if (istio.chartRepository !== undefined && !/^(https?|oci):\/\/[^\s]+$/.test(istio.chartRepository)) {
        report(["istio", "chartRepository"], `"${istio.chartRepository}" is not an http(s):// or oci:// URL`);
    }
    if (istio.chartDirectory !== undefined && istio.chartDirectory.trim() === "") {
        report(["istio", "chartDirectory"], "must not be empty; omit it to use chartRepository");
    }
    const td = hostnameProblem(istio.trustDomain);
    if (td !== undefined || istio.trustDomain.startsWith("*")) {
        report(["istio", "trustDomain"], td ?? `"${istio.trustDomain}" must not be a wildcard`);
    }
}

function checkControlPlaneAccess(access: ParsedConfig["controlPlaneAccess"], namespaces: ReadonlyMap<string, NamespaceClaim>, report: (path: Path, message: string) => void): void {
    if (access.monitoringNamespace !== undefined) {
        const path: Path = ["controlPlaneAccess", "monitoringNamespace"];
        const ns = access.monitoringNamespace;
        const claim = namespaces.get(ns);
        const problem = dnsLabelProblem(ns);
        if (problem !== undefined) {
            report(path, problem);
        } else if (claim !== undefined) {
            report(path, `"${ns}" is declared at ${claim.path}; the monitoring namespace may reach every usergroup's istiod, so it must not be one of the mesh's own namespaces`);
        }
    }
    access.apiServerCidrs?.forEach((cidr, i) => {
        const problem = cidrProblem(cidr);
        if (problem !== undefined) report(["controlPlaneAccess", "apiServerCidrs", i], problem);
    });
}

/** Groups every requester belongs to: naming one as platform operators would exempt everyone from the guardrails. */
const EVERYONE_GROUPS = new Set(["system:authenticated", "system:unauthenticated", "system:serviceaccounts"]);

function checkPlatformOperators(config: CheckableConfig, report: (path: Path, message: string) => void): void {
    const operators = config.platformOperators;
    if (config.admissionGuardrails === undefined || config.admissionGuardrails === "off") return;
    if (operators === undefined || operators.users.length + operators.groups.length === 0) {
        report(
            ["platformOperators"],
            `is required when admissionGuardrails is "${config.admissionGuardrails}": name the users or groups that run pulumi up (they alone may change what the guardrails protect, so without them the next update would be refused)`,
        );
        return;
    }
    operators.groups.forEach((group, i) => {
        if (EVERYONE_GROUPS.has(group) || group.startsWith("system:serviceaccounts:")) {
            report(["platformOperators", "groups", i], `"${group}" holds every requester${group.startsWith("system:serviceaccounts:") ? " of a namespace" : ""}; the guardrails would exempt them all`);
        }
    });
}

function checkLabels(labels: Record<string, string>, path: Path, report: (path: Path, message: string) => void): void {
    for (const [key, value] of Object.entries(labels)) {
        if (MANAGED_LABEL_KEYS.has(key) || key.startsWith(MANAGED_LABEL_PREFIX)) {
            report([...path, key], `label "${key}" is managed by mesh-tenancy and cannot be set here`);
            continue;
        }
        const problem = labelKeyProblem(key) ?? labelValueProblem(value);
        if (problem !== undefined) report([...path, key], problem);
    }
}

function checkWorkloadSidecars(
    sidecars: ParsedConfig["usergroups"][number]["tenants"][number]["workloadSidecars"],
    path: Path,
    report: (path: Path, message: string) => void,
    at: (path: Path) => string,
    checkEgress: (entries: string[], path: Path) => void,
): void {
    const names = new Map<string, number>();
    sidecars.forEach((w, i) => {
        const wPath: Path = [...path, i];
        const nameProblem = dnsLabelProblem(w.name);
        if (nameProblem !== undefined) {
            report([...wPath, "name"], nameProblem);
        } else if (w.name === "default") {
            report([...wPath, "name"], `"default" is the name of the namespace's selector-less Sidecar`);
        } else if (names.has(w.name)) {
            report([...wPath, "name"], `workload Sidecar "${w.name}" is already defined at ${at([...path, names.get(w.name)!])}`);
        } else {
            names.set(w.name, i);
        }
        if (w.selector === undefined || Object.keys(w.selector).length === 0) {
            report([...wPath, "selector"], "a workload Sidecar needs a non-empty selector; the namespace's default Sidecar already covers every other pod");
        } else {
            checkSelectorLabels(w.selector, [...wPath, "selector"], report);
            for (let j = 0; j < i; j++) {
                const other = sidecars[j].selector;
                if (other === undefined || Object.keys(other).length === 0) continue;
                const relation = selectorRelation(w.selector, other);
                if (relation === "equal") {
                    report([...wPath, "selector"], `selects the same pods as ${at([...path, j])} ("${sidecars[j].name}"); merge them`);
                } else if (relation !== "disjoint-or-partial") {
                    report([...wPath, "selector"], `overlaps ${at([...path, j])} ("${sidecars[j].name}"): some pods would match both, and Istio then applies only one`);
                }
            }
        }
        checkEgress(w.egress, [...wPath, "egress"]);
    });
}

function checkSelectorLabels(labels: Record<string, string>, path: Path, report: (path: Path, message: string) => void): void {
    for (const [key, value] of Object.entries(labels)) {
        const problem = labelKeyProblem(key) ?? labelValueProblem(value);
        if (problem !== undefined) report([...path, key], problem);
    }
}

function dnsSubdomainProblem(name: string): string | undefined {
    return /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) && name.length <= 253 ? undefined : `"${name}" is not a valid Secret name`;
}
