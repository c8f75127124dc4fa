import type { Rule } from "../lib/rule";
import { defaultRevision } from "./defaultRevision";
import { defaultSidecar } from "./defaultSidecar";
import { discoveryScope } from "./discoveryScope";
import { exportTo } from "./exportTo";
import { gatewaySelection } from "./gatewaySelection";
import { headlessPorts } from "./headlessPorts";
import { injectionLabel } from "./injectionLabel";
import { istiodScoping } from "./istiodScoping";
import { protectedNamespaces } from "./protectedNamespaces";
import { retiringRevision } from "./retiringRevision";
import { revisionExists } from "./revisionExists";
import { rootSidecar } from "./rootSidecar";
import { sidecarHosts } from "./sidecarHosts";
import { strictMtls } from "./strictMtls";
import { tenantIsolation } from "./tenantIsolation";
import { usergroupBoundary } from "./usergroupBoundary";
import { admissionWithinImporters } from "./admissionWithinImporters";
import { workloadCoverage } from "./workloadCoverage";
import { injectorOverlap } from "./injectorOverlap";
import { rootConfigReach } from "./rootConfigReach";
import { controlPlaneReach } from "./controlPlaneReach";
import { tenantWriters } from "./tenantWriters";
import { namespaceRoleClaims } from "./namespaceRoleClaims";
import { routeDestinations } from "./routeDestinations";
import { gatewayBinding } from "./gatewayBinding";
import { envoyFilterEffects } from "./envoyFilterEffects";
import { injectorTargets } from "./injectorTargets";

/** Every rule, in id order. Ids and names are stable: configs and suppressions refer to them. */
export const RULES: ReadonlyArray<Rule> = [
    injectionLabel,
    revisionExists,
    discoveryScope,
    istiodScoping,
    defaultSidecar,
    rootSidecar,
    sidecarHosts,
    exportTo,
    strictMtls,
    gatewaySelection,
    defaultRevision,
    tenantIsolation,
    protectedNamespaces,
    headlessPorts,
    usergroupBoundary,
    admissionWithinImporters,
    workloadCoverage,
    injectorOverlap,
    rootConfigReach,
    retiringRevision,
    controlPlaneReach,
    tenantWriters,
    namespaceRoleClaims,
    routeDestinations,
    gatewayBinding,
    envoyFilterEffects,
    injectorTargets,
];
