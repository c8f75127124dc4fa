import * as pulumi from "@pulumi/pulumi";

/* The runtime's mock monitor lives in internal modules; these are the hooks its own setMocks uses. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const state = require("@pulumi/pulumi/runtime/state");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const callproto = require("@pulumi/pulumi/proto/callback_pb");

/** One resource registration as the engine would receive it. */
export interface Registration {
    type: string;
    name: string;
    urn: string;
    parent: string;
    custom: boolean;
    remote: boolean;
    protect: boolean;
    retainOnDelete: boolean;
    dependencies: string[];
    inputs: Record<string, any>;
    /** Transforms attached to this resource (applied by the engine to it and its children). */
    transforms: pulumi.ResourceTransform[];
}

/**
 * Records every registration with the options the stock mocks drop (parent, protect, dependsOn, transforms), so tests
 * can assert the resource graph itself.
 */
export class RecordingMocks {
    readonly registrations: Registration[] = [];
    /** Transforms the program registered for the whole stack (`pulumi.runtime.registerResourceTransform`). */
    readonly stackTransforms: pulumi.ResourceTransform[] = [];
    private readonly transforms = new Map<string, pulumi.ResourceTransform>();

    install(project = "mesh-tenancy", stack = "test", preview = false): void {
        const recorder = this;
        const monitor = new MockMonitor({
            newResource: (args: pulumi.runtime.MockResourceArgs) => ({
                id: args.custom ? `${args.name}-id` : undefined,
                state: { ...args.inputs },
            }),
            call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
        });
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) =>
            register(req, (err: any, resp: any) => {
                if (!err) {
                    recorder.registrations.push({
                        type: req.getType(),
                        name: req.getName(),
                        urn: resp.getUrn(),
                        parent: req.getParent(),
                        custom: req.getCustom(),
                        remote: req.getRemote(),
                        protect: req.getProtect() ?? false,
                        retainOnDelete: req.getRetainondelete() ?? false,
                        dependencies: req.getDependenciesList(),
                        inputs: pulumi.runtime.deserializeProperties(req.getObject()),
                        transforms: req.getTransformsList().map((cb: any) => recorder.transforms.get(cb.getToken())!),
                    });
                }
                callback(err, resp);
            });
        settings.setMockOptions(monitor, project, stack, preview);
        const store = state.getStore();
        store.supportsSecrets = true;
        store.supportsResourceReferences = true;
        store.supportsOutputValues = false;
        store.supportsAliasSpecs = true;
        store.supportsTransforms = true;
        store.callbacks = {
            awaitStackRegistrations: async () => undefined,
            shutdown: () => undefined,
            registerStackTransform: (transform: pulumi.ResourceTransform) => {
                recorder.stackTransforms.push(transform);
            },
            registerTransform: async (transform: pulumi.ResourceTransform) => {
                const token = `transform-${recorder.transforms.size}`;
                recorder.transforms.set(token, transform);
                const cb = new callproto.Callback();
                cb.setTarget("mock");
                cb.setToken(token);
                return cb;
            },
        };
    }

    /**
     * A registration as the engine goes on with it: its inputs and options after its own transforms, then its
     * ancestors' (nearest first), then the stack's, and how many of them the engine had to call back into the program.
     */
    async effective(reg: Registration): Promise<{ inputs: Record<string, any>; protect: boolean; retainOnDelete: boolean; callbacks: number }> {
        const byUrn = new Map(this.registrations.map((r) => [r.urn, r]));
        const chain: pulumi.ResourceTransform[] = [...reg.transforms];
        for (let parent = byUrn.get(reg.parent); parent !== undefined; parent = byUrn.get(parent.parent)) chain.push(...parent.transforms);
        chain.push(...this.stackTransforms);
        let props = reg.inputs;
        let opts: pulumi.ResourceOptions = { protect: reg.protect, retainOnDelete: reg.retainOnDelete };
        for (const transform of chain) {
            const result = await transform({ type: reg.type, name: reg.name, custom: reg.custom, props, opts });
            if (result !== undefined) ({ props, opts } = result);
        }
        return { inputs: props, protect: opts.protect === true, retainOnDelete: opts.retainOnDelete === true, callbacks: chain.length };
    }

    byType(type: string): Registration[] {
        return this.registrations.filter((r) => r.type === type);
    }

    byName(name: string): Registration {
        const found = this.registrations.filter((r) => r.name === name);
        if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}`);
        return found[0];
    }
}

/** Waits until every registration started by the program has reached the mock monitor. */
export async function settle(): Promise<void> {
    await settings.waitForRPCs();
}
