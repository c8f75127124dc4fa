import { supportedSince } from "../policy/semantics/versions";
import { dnsLabelProblem, hostnameProblem } from "./names";

/** A parsed Sidecar egress host: `namespace/host`, with `.` for the Sidecar's own namespace. */
export interface EgressHost {
    namespace: string;
    host: string;
}

/** Parses `namespace/host`, `namespace/*` or `./*`; returns the reason when the entry is malformed or unsafe. */
export function parseEgressHost(entry: string): EgressHost | { problem: string } {
    const slash = entry.indexOf("/");
    if (slash < 0) {
        return { problem: `"${entry}" must be "namespace/host", "namespace/*" or "./*"` };
    }
    const namespace = entry.slice(0, slash);
    const host = entry.slice(slash + 1);
    if (namespace === "*") {
        return { problem: `"${entry}" imports from every namespace; name the namespace instead of "*"` };
    }
    if (namespace === "~") {
        return { problem: `"${entry}" imports nothing; remove it` };
    }
    if (namespace.startsWith("~")) {
        return {
            problem: `"${entry}" is an egress exclusion: Istio has them from 1.${supportedSince("sidecarEgressExclusions")} only (earlier releases ignore the entry and keep the import whole), and the program does not write them; list the hosts to import instead`,
        };
    }
    if (namespace === ".") {
        return host === "*" ? { namespace, host } : { problem: `"${entry}": only "./*" is allowed for the own namespace, and it is always imported` };
    }
    const nsProblem = dnsLabelProblem(namespace);
    if (nsProblem !== undefined) {
        return { problem: `"${entry}": namespace ${nsProblem}` };
    }
    if (host !== "*") {
        const hostProblem = hostnameProblem(host);
        if (hostProblem !== undefined) {
            return { problem: `"${entry}": host ${hostProblem}` };
        }
    }
    return { namespace, host };
}
