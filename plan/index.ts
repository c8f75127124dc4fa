import type { MeshTenancyConfig } from "../model/config";
import { formatStackPart } from "../model/stackPart";
import { ChartRelease } from "./charts";
import { baseHome, ControlPlanePlan, planBase, planControlPlane } from "./controlPlane";
import { GuardrailsPlan, planGuardrails } from "./guardrails";
import { istioApiVersions } from "./istio";
import { NamespacePlan, planNamespace } from "./namespace";
import type { KubeObject } from "./objects";
import { scopeUsergroup } from "./scoping";

/*
 * The whole desired tenancy, computed from config alone: one module per concept (controlPlane.ts, namespace.ts,
 * gateway.ts, guardrails/, scoping.ts), put together here.
 */

export type { ChartRelease } from "./charts";
export { chartLocation } from "./charts";
export type { ControlPlanePlan, RevisionPlan, TagPlan } from "./controlPlane";
export { ISTIOD_PORTS } from "./controlPlane";
export type { GatewayPlan } from "./gateway";
export type { NamespacePlan } from "./namespace";
export { SMOKE_IMAGES } from "./namespace";
export type { KubeObject, PlannedObject } from "./objects";
export { ISOLATION_KINDS, isGrant } from "./objects";

/** The whole desired tenancy, computed from config alone. */
export interface TenancyPlan {
    base: ChartRelease;
    /** The Gateway API CRDs the stack installs (config `ingress.gatewayApiCrds: { directory }`), with the base chart. */
    gatewayApiCrds?: { directory: string };
    /** Protect the base chart's cluster-wide objects, with the namespaces, when `protectNamespaces` is set. */
    protectBase: boolean;
    controlPlanes: ControlPlanePlan[];
    namespaces: NamespacePlan[];
    /** ValidatingAdmissionPolicies, their bindings and the tenant owners' Istio role. */
    guardrails: GuardrailsPlan;
    localCluster: boolean;
    /** Export every namespace's scoping and the expected connectivity, not only the summary. */
    detailedOutputs: boolean;
    /** What this stack registers of the plan (config `stackPart`); the plan itself is always the whole environment. */
    part: PartPlan;
}

/** The share of the plan one stack registers. */
export interface PartPlan {
    /** As configured: `all`, `platform` or `usergroup:<name>`. */
    name: string;
    /** Istio's base chart: in `all`, and in the part of the usergroup whose system namespace it goes into. */
    base: boolean;
    /** The admission guardrails and the tenant owners' Istio role: in `all` and `platform`. */
    guardrails: boolean;
    /** The usergroups whose control planes and namespaces it registers. */
    usergroups: string[];
}

export function planTenancy(config: MeshTenancyConfig): TenancyPlan {
    const api = istioApiVersions(config.istio.version);
    const controlPlanes = config.usergroups.map((ug) => planControlPlane(config, ug, api));
    const namespaces = config.usergroups.flatMap((ug) => {
        const scopes = scopeUsergroup(ug);
        const shared = ug.sharedNamespaces.map((ns) => planNamespace(config, ug, ns, "shared", scopes, api));
        const tenants = ug.tenants.map((t) => planNamespace(config, ug, t.name, "tenant", scopes, api, t));
        return [...shared, ...tenants];
    });
    return {
        base: planBase(config),
        ...(config.ingress.gatewayApiCrds !== "external" ? { gatewayApiCrds: { directory: config.ingress.gatewayApiCrds.directory } } : {}),
        protectBase: config.protectNamespaces,
        controlPlanes,
        namespaces,
        guardrails: planGuardrails(config),
        localCluster: config.localCluster,
        detailedOutputs: config.detailedOutputs,
        part: planPart(config),
    };
}

function planPart(config: MeshTenancyConfig): PartPlan {
    const part = config.stackPart;
    const name = formatStackPart(part);
    switch (part.kind) {
        case "all":
            return { name, base: true, guardrails: true, usergroups: config.usergroups.map((ug) => ug.name) };
        case "platform":
            return { name, base: false, guardrails: true, usergroups: [] };
        case "usergroup":
            return { name, base: baseHome(config).name === part.usergroup, guardrails: false, usergroups: [part.usergroup] };
    }
}

/** Every platform object the plan registers directly (charts and smoke workloads excluded), e.g. for policy checks and reports. */
export function plannedObjects(plan: TenancyPlan): KubeObject[] {
    const g = plan.guardrails;
    return [
        ...plan.controlPlanes.flatMap((cp) => [cp.namespace.object, ...(cp.caSecret !== undefined ? [cp.caSecret.object] : []), ...cp.objects.map((o) => o.object), ...cp.tags.map((t) => t.webhook.object)]),
        ...plan.namespaces.flatMap((ns) => [
            ns.namespace.object,
            ...ns.objects.map((o) => o.object),
            ...(ns.gateway?.objects.map((o) => o.object) ?? []),
        ]),
        ...[...(g.tenantRole !== undefined ? [g.tenantRole] : []), ...g.policies, ...g.bindings].map((o) => o.object),
    ];
}
