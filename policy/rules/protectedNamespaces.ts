import type { Inventory } from "../semantics/inventory";
import type { Finding, Rule, RuleConfig } from "../lib/rule";

export const protectedNamespaces: Rule = {
    id: "MT013",
    name: "namespaces-protected-in-production",
    description: "In production (pack config `production: true`), tenant and shared Namespaces are Pulumi-protected.",
    why: "Deleting a Namespace deletes everything in it; one mistaken config change or stack destroy in production must not take a tenant's workloads and secrets with it.",
    defaultEnforcement: "mandatory",
    fix: "Set `mesh-tenancy:protectNamespaces: true` in the production stack.",
    atAdmission: "no",
    previewOnly: "Pulumi's `protect`",
    configSchema: { production: { type: "boolean", description: "The stack is a production environment." } },
    check(inventory: Inventory, config: RuleConfig): Finding[] {
        if (config.production !== true) return [];
        const findings: Finding[] = [];
        for (const ns of inventory.namespaces.values()) {
            const role = inventory.roleOf(ns.name);
            if ((role === "tenant" || role === "shared") && ns.subject.origin.protect === false) {
                findings.push({ subject: ns.subject, message: `${role} namespace is not protected; set protectNamespaces: true for production stacks` });
            }
        }
        return findings;
    },
};
