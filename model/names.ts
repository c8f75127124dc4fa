/** RFC 1123 label, as Kubernetes requires for namespace names. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A lowercase DNS name, optionally starting with a `*.` wildcard label (Istio host syntax). */
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Label keys: optional DNS-subdomain prefix, then a name of at most 63 characters. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export const RESERVED_NAMESPACES: ReadonlySet<string> = new Set([
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "default",
]);

/** Why `name` is not a DNS-1123 label, or undefined when it is one. */
export function dnsLabelProblem(name: string): string | undefined {
    if (name.length === 0) {
        return "must not be empty";
    }
    if (name.length > 63) {
        return `"${name}" is longer than 63 characters (${name.length})`;
    }
    if (!DNS1123_LABEL.test(name)) {
        return `"${name}" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)`;
    }
    return undefined;
}

export function hostnameProblem(host: string): string | undefined {
    if (host.length > 253) {
        return `"${host}" is longer than 253 characters`;
    }
    if (!HOSTNAME.test(host)) {
        return `"${host}" is not a DNS name (lowercase, optionally starting with "*.")`;
    }
    return undefined;
}

export function labelKeyProblem(key: string): string | undefined {
    const slash = key.lastIndexOf("/");
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if (prefix !== undefined && (prefix.length > 253 || hostnameProblem(prefix) !== undefined || prefix.startsWith("*"))) {
        return `label key "${key}" has an invalid prefix "${prefix}"`;
    }
    if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
        return `"${key}" is not a valid label key`;
    }
    return undefined;
}

export function labelValueProblem(value: string): string | undefined {
    if (value.length > 63 || !LABEL_VALUE.test(value)) {
        return `"${value}" is not a valid label value`;
    }
    return undefined;
}

/** Why `cidr` is not an IPv4 or IPv6 CIDR in canonical form (no host bits set), or undefined when it is one. */
export function cidrProblem(cidr: string): string | undefined {
    const bad = `"${cidr}" is not a CIDR such as 10.0.0.0/16 or fd00::/64`;
    const slash = cidr.indexOf("/");
    if (slash < 0 || !/^\d{1,3}$/.test(cidr.slice(slash + 1))) return bad;
    const prefix = Number(cidr.slice(slash + 1));
    const bits = addressBits(cidr.slice(0, slash));
    if (bits === undefined || prefix > bits.length) return bad;
    if (bits.slice(prefix).includes("1")) return `"${cidr}" has bits set after the /${prefix} prefix`;
    return undefined;
}

/** The address as a string of bits, or undefined when it is not a plain IPv4 or IPv6 address. */
function addressBits(address: string): string | undefined {
    const octets = address.split(".");
    if (octets.length === 4) {
        if (!octets.every((o) => /^(0|[1-9]\d{0,2})$/.test(o) && Number(o) <= 255)) return undefined;
        return octets.map((o) => Number(o).toString(2).padStart(8, "0")).join("");
    }
    const halves = address.split("::");
    if (halves.length > 2 || address.includes(".")) return undefined;
    const groups = halves.map((h) => (h === "" ? [] : h.split(":")));
    if (!groups.flat().every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
    const given = groups.flat().length;
    if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
    const all = halves.length === 1 ? groups[0] : [...groups[0], ...Array(8 - given).fill("0"), ...groups[1]];
    return all.map((g) => parseInt(g, 16).toString(2).padStart(16, "0")).join("");
}
