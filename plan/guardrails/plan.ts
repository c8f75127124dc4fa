import type { GuardrailMode, MeshTenancyConfig, PlatformOperators } from "../../model/config";
import { MANAGED_BY, MANAGED_BY_LABEL, ROLE_LABEL } from "../../policy/semantics/labels";
import type { PlannedObject } from "../objects";
import type { GuardrailScope } from "./catalogue";
import { istiodServiceAccount } from "../../policy/semantics/revisions";
import { controlPlaneWrites, notAPlatformOperator, POLICIES, PolicySpec, withParameters } from "./policies";
import { tenantRole } from "./tenantRbac";

export interface GuardrailsPlan {
    mode: GuardrailMode;
    /**
     * Protected with the namespaces (`protectNamespaces`): while a protected namespace stays, the guardrails holding it
     * stay too, so a refused destroy or removal leaves no namespace without them.
     */
    protect: boolean;
    /** Identities exempt from every guardrail. */
    platformOperators: PlatformOperators;
    /** The tenant owners' Istio role (a ClusterRole, bound only by RoleBindings in tenant namespaces). */
    tenantRole?: PlannedObject;
    /** ValidatingAdmissionPolicies, then their bindings; empty when the guardrails are off. */
    policies: PlannedObject[];
    bindings: PlannedObject[];
}


/** The role label values of the namespaces a scope covers. */
function scopeRoles(scope: GuardrailScope): string[] | undefined {
    switch (scope) {
        case "tenant":
            return ["tenant", "shared"];
        case "system":
            return ["system"];
        case "managed":
            return ["tenant", "shared", "system"];
        case "cluster":
            return undefined;
    }
}

const VALIDATION_ACTIONS: Record<Exclude<GuardrailMode, "off">, string[]> = {
    enforce: ["Deny"],
    warn: ["Warn", "Audit"],
};

function policyObjects(spec: PolicySpec, mode: Exclude<GuardrailMode, "off">, operators: PlatformOperators, istiods: string[]): [PlannedObject, PlannedObject] {
    const name = `mesh-tenancy-${spec.name}`;
    const labels = { [MANAGED_BY_LABEL]: MANAGED_BY };
    const roles = scopeRoles(spec.scope);
    const { variables, validations } = withParameters(spec);
    const policy: PlannedObject = {
        resourceName: `guardrail-${spec.name}`,
        object: {
            apiVersion: "admissionregistration.k8s.io/v1",
            kind: "ValidatingAdmissionPolicy",
            metadata: { name, labels, annotations: { "mesh-tenancy.io/guardrails": [...new Set(validations.map((v) => v.id))].join(",") } },
            spec: {
                failurePolicy: "Fail",
                matchConstraints: {
                    resourceRules: spec.rules.map((r) => ({ ...r, apiVersions: ["*"], operations: spec.operations, scope: "*" })),
                },
                matchConditions: [notAPlatformOperator(operators), ...(spec.skipsControlPlaneWrites ? controlPlaneWrites(istiods) : [])],
                ...(variables.length > 0 ? { variables } : {}),
                validations: validations.map((v) => ({ expression: v.expression, messageExpression: v.messageExpression, reason: "Forbidden" })),
            },
        },
    };
    const binding: PlannedObject = {
        resourceName: `guardrail-${spec.name}-binding`,
        object: {
            apiVersion: "admissionregistration.k8s.io/v1",
            kind: "ValidatingAdmissionPolicyBinding",
            metadata: { name, labels },
            spec: {
                policyName: name,
                validationActions: VALIDATION_ACTIONS[mode],
                ...(roles === undefined ? {} : { matchResources: { namespaceSelector: { matchExpressions: [{ key: ROLE_LABEL, operator: "In", values: roles }] } } }),
            },
        },
    };
    return [policy, binding];
}

/** Each revision's istiod as the API server names it: the istiod chart's ServiceAccount `istiod-<revision>`. */
export function istiodUsernames(config: MeshTenancyConfig): string[] {
    return config.usergroups.flatMap((ug) => ug.revisions.map((r) => `system:serviceaccount:${ug.systemNamespace}:${istiodServiceAccount(r.name)}`)).sort();
}

export function planGuardrails(config: MeshTenancyConfig): GuardrailsPlan {
    const mode = config.admissionGuardrails;
    const operators = config.platformOperators;
    const protect = config.protectNamespaces;
    if (mode === "off") return { mode, protect, platformOperators: operators, policies: [], bindings: [] };
    const pairs = POLICIES.map((spec) => policyObjects(spec, mode, operators, istiodUsernames(config)));
    return { mode, protect, platformOperators: operators, tenantRole: tenantRole(), policies: pairs.map((p) => p[0]), bindings: pairs.map((p) => p[1]) };
}

/** Every guardrail id some policy validates, with the scope of that policy: GUARDRAILS must say the same. */
export function policyGuardrailScopes(): Map<string, GuardrailScope> {
    return new Map(POLICIES.flatMap((p) => withParameters(p).validations.map((v) => [v.id, p.scope] as const)));
}
