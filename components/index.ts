export { ControlPlane, ControlPlaneArgs } from "./controlPlane";
export { Guardrails, GuardrailsArgs } from "./guardrails";
export { IstioBase, IstioBaseArgs } from "./istioBase";
export { MeshTenancy, MeshTenancyArgs } from "./meshTenancy";
export { SmokeWorkloads, SmokeWorkloadsArgs } from "./smokeWorkloads";
export { TenantGateway, TenantGatewayArgs } from "./tenantGateway";
export { TenantNamespace, TenantNamespaceArgs } from "./tenantNamespace";
export { localClusterTransform } from "./localCluster";
