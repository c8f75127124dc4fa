/**
 * Pulumi output as a person reads it: the first real error first, and the noise it causes folded into one line.
 *
 * When one step of an update fails, or the update is interrupted, the engine cancels every other step, and each of
 * them reports the cancellation as an error of its own: every Helm chart says "grpc: the client connection is
 * closing", the policy pack "failed to run policy/remediation: context canceled". Those knock-on errors can outnumber
 * and precede the error that caused them. A refreshed object's diff also lists its whole `managedFields`, which
 * changes on every write and says nothing about the drift.
 */

/** Errors that only say the run was being torn down. */
export const KNOCK_ON_ERRORS: ReadonlyArray<{ label: string; pattern: RegExp }> = [
    { label: "grpc: the client connection is closing", pattern: /grpc: the client connection is closing/ },
    { label: "context canceled", pattern: /context canceled/ },
    { label: "rpc error: code = Canceled", pattern: /rpc error: code = Canceled/ },
    { label: "transport is closing", pattern: /transport is closing/ },
];

const ERROR = /\berror\b/i;

/**
 * The engine refusing to delete something under a protected namespace's component: `unable to delete resource "urn…"`
 * up to CLI 3.248, `resource "urn…" cannot be deleted because it is protected` since.
 */
const PROTECTED_DELETE = /(unable to delete resource "urn:[^"]*mesh-tenancy:index:(TenantNamespace|ControlPlane)\$[^"]*"|error: resource "urn:[^"]*mesh-tenancy:index:(TenantNamespace|ControlPlane)\$[^"]*" cannot be deleted)/;

/**
 * The Kubernetes API server not answering, or the connection to it breaking under a request: the provider's dial
 * refused or timed out, its own word that the cluster is unreachable, or a request's connection cut by the server or a
 * proxy in between (`write: broken pipe`, `connection reset by peer`, an unexpected EOF, a lost HTTP/2 connection).
 * Whatever resource the line names, nothing was refused: the update stopped where the server went away.
 */
const API_UNREACHABLE = new RegExp(
    [
        String.raw`dial tcp \S+: (connect: connection refused|i/o timeout)`,
        String.raw`(write|read) tcp \S+->\S+: (write: broken pipe|read: connection reset by peer|use of closed network connection|i/o timeout)`,
        String.raw`https://[^"\s]+": (unexpected )?EOF`,
        "http2: client connection lost",
        "net/http: TLS handshake timeout",
        "cluster is unreachable",
        "the server is currently unable to handle the request",
    ].join("|"),
);

/** The one next step after an API server outage. */
export const API_UNREACHABLE_HINT = [
    "mesh-tenancy: the Kubernetes API server did not answer (or the connection to it broke), so the update stopped part-way; nothing was refused or deleted.",
    "  Once `kubectl get --raw /readyz` answers ok, run the same `pulumi up` again: it creates what is missing and",
    "  converges from the state saved so far (docs/operating.md, \"When the API server goes away during an update\").",
];

/**
 * Another update holding the stack's lock (a running one, or one killed before it could release it): the CLI's refusal,
 * and on the next line the lock file, its holder and process: `…/locks/<org>/<project>/<stack>/<id>.json…: created by
 * root@host (pid 11958) at 2026-12-04T22:35:38Z`.
 */
const LOCK_HELD = /the stack is currently locked by \d+ lock\(s\)/;
const LOCK_HOLDER = /locks\/[^/]+\/[^/]+\/([^/]+)\/[^:]*: created by (\S+) \(pid (\d+)\) at (\S+)/;

/** The one next step when the lock is held; what the lock line says of its holder, when it was printed. */
export function lockHeldHint(holder?: { stack: string; by: string; pid: string; at: string }): string[] {
    const stack = holder?.stack ?? "<stack>";
    return [
        `mesh-tenancy: another update of this stack holds its lock${holder !== undefined ? ` (${holder.by}, pid ${holder.pid}, since ${holder.at})` : ""}; this run changed nothing.`,
        "  If that update is still running, let it finish, then run again. If its process is gone (killed, a lost CI",
        `  runner): end its plugins, \`pulumi cancel --yes --stack ${stack}\`, then \`PULUMI_K8S_ENABLE_PATCH_FORCE=true pulumi up\``,
        '  (docs/operating.md, "After a killed update").',
    ];
}

/**
 * The state still records operations a killed run had in flight (only when the state is written at every step:
 * MESH_TENANCY_CHECKPOINTS=every-step, or Pulumi's default outside the scripts). The engine warns and goes on; an `up`
 * does not clear pending creates, and its own advice (`pulumi refresh`, interactively) does not suit a CI runner.
 */
const PENDING_OPERATIONS = /Attempting to deploy or update resources with (\d+) pending operations? from previous deployment/;
const STACK_OF_URN = /urn:pulumi:([^:]+)::/;

export function pendingOperationsHint(count: string, stack = "<stack>"): string[] {
    return [
        `mesh-tenancy: the last update was interrupted while ${count} operation${count === "1" ? " was" : "s were"} in flight (listed above); their objects may or may`,
        `  not exist. \`pulumi refresh --clear-pending-creates --yes --stack ${stack}\` reads every object back and drops the`,
        "  creates that never finished from the state; then `PULUMI_K8S_ENABLE_PATCH_FORCE=true pulumi up` creates them again",
        '  by server-side apply, taking over what the killed run had applied (docs/operating.md, "After a killed update").',
    ];
}

/** A plugin process (the provider, the language host, the policy pack's analyzer) gone in the middle of the run. */
const PLUGIN_ENDED = /\/(pulumi-(?:resource|language|analyzer)-[\w-]+) exited prematurely/;

/** The one next step when a plugin process ended; the engine's own words blame the plugin's author, which a kill does not. */
export function pluginEndedHint(plugin: string): string[] {
    const what = plugin === "pulumi-resource-kubernetes" ? "the Kubernetes provider process" : `the plugin process ${plugin}`;
    return [
        `mesh-tenancy: ${what} ended in the middle of the run (killed, or out of memory: see the runner's memory and`,
        "  `dmesg`); the objects it was writing may or may not have been applied. Run the same `pulumi up` again: every",
        "  create is a server-side apply, so it takes over what was applied and creates the rest; a refresh preview then",
        '  shows no change (docs/operating.md, "When a plugin process dies").',
    ];
}

/** What the engine's refusal does not say: how to retire a tenant, or take down a protected stack, on purpose. */
export const RETIRE_HINT = [
    "mesh-tenancy: nothing in a protected namespace was deleted. To retire a tenant on purpose: set `retire: true` on it",
    "  and run `pulumi up`; run the `pulumi state unprotect` command the stack output `retiring` names; then remove the",
    "  tenant from the config and run `pulumi up` (docs/operating.md, \"Protected namespaces and retiring a tenant\"). To take down a whole protected stack,",
    "  set `mesh-tenancy:protectNamespaces` to false and run `pulumi up` before `pulumi destroy`.",
];
/** A resource's heading in the Diagnostics section: `  kubernetes:helm.sh/v4:Chart (shop-gateway):`. */
const DIAGNOSTIC_HEADING = /^ {2}\S.*:$/;
const SECTION = /^\S/;
const MANAGED_FIELDS = /^(\s*)(?:[-+~]\s*)?managedFields\s*:/;

function knockOn(line: string): string | undefined {
    return KNOCK_ON_ERRORS.find((k) => k.pattern.test(line))?.label;
}

/**
 * Folds a stream of lines. `push` returns what can be printed now, `end` what is left and the summary. Knock-on
 * errors that come before any real error are held back: if no real error ever comes, they were the real errors and are
 * printed at the end as they were.
 */
export class OutputFolder {
    private realErrorSeen = false;
    private held: string[] = [];
    private heldHeading: string | undefined;
    private readonly folded = new Map<string, number>();
    private managedFields?: { indent: number; lines: number; prefix: string };
    private managedFieldLines = 0;
    private inDiagnostics = false;
    private protectedDelete = false;
    private apiUnreachable = false;
    private lockHeld = false;
    private pluginEnded?: string;
    private pending?: string;
    private stack?: string;
    private lockHolder?: { stack: string; by: string; pid: string; at: string };
    /** The last line was folded away, so the blank line that ends its block goes too. */
    private afterFolded = false;

    /** `fullLog` names where the unfolded output is, for the summary line. */
    constructor(private readonly fullLog?: string) {}

    push(line: string): string[] {
        const out: string[] = [];
        if (this.managedFields !== undefined) {
            if (line.trim() !== "" && indentOf(line) <= this.managedFields.indent) {
                out.push(`${this.managedFields.prefix}managedFields: (${this.managedFields.lines} lines folded)`);
                this.managedFields = undefined;
            } else {
                this.managedFields.lines++;
                this.managedFieldLines++;
                return out;
            }
        }
        const mf = MANAGED_FIELDS.exec(line);
        if (mf !== undefined && mf !== null) {
            this.managedFields = { indent: mf[1].length, lines: 1, prefix: line.slice(0, line.indexOf("managedFields")) };
            this.managedFieldLines++;
            return out;
        }
        if (SECTION.test(line)) {
            this.closeHeading();
            this.inDiagnostics = /^Diagnostics:/.test(line);
        } else if (this.inDiagnostics && DIAGNOSTIC_HEADING.test(line)) {
            this.closeHeading();
            this.heldHeading = line;
            return out;
        }
        if (line.trim() === "" && (this.heldHeading !== undefined || this.afterFolded)) {
            this.closeHeading();
            this.afterFolded = false;
            return out;
        }
        const label = knockOn(line);
        this.afterFolded = label !== undefined;
        if (label !== undefined) {
            this.folded.set(label, (this.folded.get(label) ?? 0) + 1);
            if (!this.realErrorSeen) {
                if (this.heldHeading !== undefined) this.held.push(this.heldHeading);
                this.heldHeading = undefined;
                this.held.push(line);
            }
            return out;
        }
        if (this.heldHeading !== undefined) {
            out.push(this.heldHeading);
            this.heldHeading = undefined;
        }
        if (PROTECTED_DELETE.test(line)) this.protectedDelete = true;
        if (API_UNREACHABLE.test(line)) this.apiUnreachable = true;
        if (LOCK_HELD.test(line)) this.lockHeld = true;
        const pending = PENDING_OPERATIONS.exec(line);
        if (pending !== null) this.pending ??= pending[1];
        this.stack ??= STACK_OF_URN.exec(line)?.[1];
        const plugin = PLUGIN_ENDED.exec(line);
        if (plugin !== null) this.pluginEnded ??= plugin[1];
        const holder = LOCK_HOLDER.exec(line);
        if (holder !== null) this.lockHolder = { stack: holder[1], by: holder[2], pid: holder[3], at: holder[4] };
        if (!this.realErrorSeen && ERROR.test(line)) {
            this.realErrorSeen = true;
            this.held = [];
        }
        out.push(line);
        return out;
    }

    end(): string[] {
        const out: string[] = [];
        if (this.managedFields !== undefined) {
            out.push(`${this.managedFields.prefix}managedFields: (${this.managedFields.lines} lines folded)`);
            this.managedFields = undefined;
        }
        this.closeHeading();
        if (!this.realErrorSeen) {
            out.push(...this.held);
            this.held = [];
            this.folded.clear();
        }
        if (this.protectedDelete) out.push(...RETIRE_HINT);
        if (this.apiUnreachable) out.push(...API_UNREACHABLE_HINT);
        if (this.lockHeld) out.push(...lockHeldHint(this.lockHolder));
        if (this.pluginEnded !== undefined) out.push(...pluginEndedHint(this.pluginEnded));
        if (this.pending !== undefined) out.push(...pendingOperationsHint(this.pending, this.stack));
        const summary = this.summary();
        if (summary !== undefined) out.push(summary);
        return out;
    }

    /** Folds everything at once. */
    static fold(text: string, fullLog?: string): string {
        const folder = new OutputFolder(fullLog);
        const lines = text.split("\n");
        if (lines[lines.length - 1] === "") lines.pop();
        const out = lines.flatMap((l) => folder.push(l));
        return [...out, ...folder.end()].join("\n") + "\n";
    }

    /** A heading whose every line was a knock-on error goes with them. */
    private closeHeading(): void {
        this.heldHeading = undefined;
    }

    private summary(): string | undefined {
        const parts: string[] = [];
        const knockOns = [...this.folded.values()].reduce((a, b) => a + b, 0);
        if (knockOns > 0) {
            const kinds = [...this.folded.entries()].map(([label, n]) => `"${label}" x${n}`).join(", ");
            parts.push(`${knockOns} knock-on error line${knockOns === 1 ? "" : "s"} (${kinds})`);
        }
        if (this.managedFieldLines > 0) parts.push(`${this.managedFieldLines} managedFields line${this.managedFieldLines === 1 ? "" : "s"}`);
        if (parts.length === 0) return undefined;
        return `(folded: ${parts.join("; ")}${this.fullLog !== undefined ? `; full output in ${this.fullLog}` : ""})`;
    }
}

function indentOf(line: string): number {
    return line.length - line.trimStart().length;
}
