import type { RevisionInfo } from "./inventory";
import { SERVICE_EXPORT_TO_ANNOTATION } from "./labels";
import { stringRecord, Subject } from "./objects";

/**
 * exportTo: which namespaces may import a Service, ServiceEntry, VirtualService or DestinationRule. Values are `*`
 * (every namespace), `.` (the object's own namespace), `~` (none) or namespace names. An object that declares nothing
 * gets the revision's mesh default (`defaultServiceExportTo` for Services and ServiceEntries,
 * `defaultVirtualServiceExportTo`, `defaultDestinationRuleExportTo`), and Istio's default is `*`.
 */

const MESH_DEFAULT_KEY: Record<string, string> = {
    Service: "defaultServiceExportTo",
    ServiceEntry: "defaultServiceExportTo",
    VirtualService: "defaultVirtualServiceExportTo",
    DestinationRule: "defaultDestinationRuleExportTo",
};

export const EXPORTABLE_KINDS: ReadonlyArray<string> = Object.keys(MESH_DEFAULT_KEY);

/** The exportTo list an object declares, or undefined when it declares none (the mesh default applies). */
export function declaredExportTo(s: Subject): string[] | undefined {
    if (s.object.kind === "Service") {
        if (s.object.apiVersion !== "v1") return undefined;
        const annotation = stringRecord(s.object.metadata.annotations)[SERVICE_EXPORT_TO_ANNOTATION];
        return annotation === undefined ? undefined : annotation.split(",").map((v) => v.trim()).filter((v) => v !== "");
    }
    if (MESH_DEFAULT_KEY[s.object.kind] === undefined) return undefined;
    const list = (s.object.spec as any)?.exportTo;
    return Array.isArray(list) && list.length > 0 ? list.filter((v): v is string => typeof v === "string") : undefined;
}

/** The mesh default for a kind under a revision's mesh config, `["*"]` when unset. */
export function meshDefaultExportTo(kind: string, rev: RevisionInfo | undefined): string[] {
    const value = rev?.mesh?.[MESH_DEFAULT_KEY[kind] ?? ""];
    return Array.isArray(value) && value.length > 0 ? value.filter((v): v is string => typeof v === "string") : ["*"];
}

/** The exportTo that applies: declared, else the mesh default. */
export function effectiveExportTo(s: Subject, rev: RevisionInfo | undefined): string[] {
    return declaredExportTo(s) ?? meshDefaultExportTo(s.object.kind, rev);
}

/** Whether an object of namespace `owner` with this exportTo is visible to proxies in `viewer`. */
export function exportedTo(exportTo: ReadonlyArray<string>, owner: string, viewer: string): boolean {
    for (const target of exportTo) {
        if (target === "*" || target === viewer || (target === "." && owner === viewer)) return true;
    }
    return false;
}

/** Namespaces other than its own that an exportTo list names, and whether it names every namespace. */
export function exportTargets(exportTo: ReadonlyArray<string>, owner: string): { everywhere: boolean; namespaces: string[] } {
    const namespaces = exportTo.filter((t) => t !== "*" && t !== "." && t !== "~" && t !== owner);
    return { everywhere: exportTo.includes("*"), namespaces };
}
