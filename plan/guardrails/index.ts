/**
 * Admission guardrails: ValidatingAdmissionPolicies that hold everyone but the platform operators to the plan inside
 * the API server, whatever client they use (kubectl, Helm, GitOps controllers). Everything here is computed from the
 * plan; the component only registers it.
 *
 * Each policy is generic; what differs per namespace (its revision, the namespaces it may import, who it admits) is in
 * annotations of the Namespace itself, which CEL reads as `namespaceObject`. The bindings select namespaces by their
 * role label, and a selected namespace without the annotations refuses every request (fail closed).
 *
 * Why not a parameter object (`paramKind`): the API server keeps one informer per core parameter kind and stops it for
 * good, until it restarts, the first time no binding names that kind (kubernetes/kubernetes#130887). Uninstalling and
 * installing the stack again, or turning the guardrails off and on, then leaves every binding without parameters
 * ("no params found for policy binding") or with stale ones. Namespaces are always watched; their annotations are read
 * from the same object the bindings already select on.
 *
 * The parts: parameters.ts (what a namespace's policies compare against), catalogue.ts (the guardrail ids),
 * tenantRbac.ts (the tenant owners' Istio role), cel.ts (writing CEL), policies.ts (the policies), plan.ts (the objects).
 */

export { GUARDRAIL_ID, GUARDRAILS, guardrailIdOf, guardrailsByNamespace, guardrailsFor } from "./catalogue";
export type { GuardrailInfo, GuardrailScope } from "./catalogue";
export { GUARDRAIL_ANNOTATION_PREFIX, GUARDRAIL_PARAM_ANNOTATIONS, guardrailAnnotations, guardrailParams } from "./parameters";
export type { GuardrailParams, NamespaceFacts } from "./parameters";
export { planGuardrails, policyGuardrailScopes } from "./plan";
export type { GuardrailsPlan } from "./plan";
export { TENANT_ISTIO_ROLE, tenantIstioRoleBinding } from "./tenantRbac";
