import * as pulumi from "@pulumi/pulumi";
import { SdkExport } from "../policy/lib/sdkExport";

/**
 * The engine answers every registration with the resource's outputs: for a Kubernetes object, the live object as the
 * API server returned it (managedFields, server-set metadata, status) plus the provider's copy of the inputs, three to
 * four times what the program sent. The SDK decodes that answer (protobuf, then JavaScript values) and resolves every
 * output property from it. The program reads none of it for the objects it plans: it refers to them by URN only
 * (dependsOn, the `pulumi state` commands it prints), and everything it exports comes from the plan.
 *
 * For resources marked with {@link outputsUnread}, the program drops the outputs from the engine's answer before the
 * SDK decodes it; the SDK then resolves their output properties from the inputs the program gave (what it does for any
 * property the engine returns no value for) and their URN and ID as always. Server-set fields (uid, status) read as
 * undefined. The stack's state is untouched: the engine keeps the outputs; only the program's copy is not decoded.
 * Answers for every other resource (charts, kubernetesx workloads, components) are decoded as before.
 *
 * Returns whether answers are now filtered: false when the SDK no longer exposes a replaceable decoder (an SDK
 * upgrade; then nothing changes but speed).
 */
export function dropUnreadOutputs(): boolean {
    return responseDecoder.replace((original) => (bytes) => original(withoutUnreadOutputs(bytes)), fieldNumbersDiffer);
}

/**
 * Why the field numbers this filter reads would be wrong for the SDK's own RegisterResourceResponse, if they would:
 * a message made with the SDK's generated setters must carry the URN as field 1 and the object as field 3.
 */
export function fieldNumbersDiffer(resourceProto: any): string | undefined {
    try {
        const message = new resourceProto.RegisterResourceResponse();
        message.setUrn("urn:pulumi:s::p::t::n");
        // The Struct class the SDK's own messages use, resolved from the SDK's location.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { Struct } = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [require.resolve("@pulumi/pulumi")] }));
        message.setObject(new Struct());
        const fields = topLevelFields(message.serializeBinary());
        const urn = fields?.find((f) => f.wireType === 2 && f.field === URN_FIELD);
        const object = fields?.find((f) => f.field === OBJECT_FIELD);
        if (urn === undefined || object === undefined) return `RegisterResourceResponse no longer carries urn as field ${URN_FIELD} and object as field ${OBJECT_FIELD}: fields ${fields?.map((f) => f.field).join(", ") ?? "unreadable"}`;
        return undefined;
    } catch (err) {
        return `RegisterResourceResponse cannot be built with its generated setters: ${(err as Error).message.split("\n")[0]}`;
    }
}

/** Undoes {@link dropUnreadOutputs}. */
export function restoreOutputs(): void {
    responseDecoder.restore();
}

/** Marks a resource whose outputs the program never reads (see {@link dropUnreadOutputs}). Call right after `new`. */
export function outputsUnread(resource: pulumi.Resource): void {
    unread.add(resourceKey(pulumi.resourceType(resource), pulumi.resourceName(resource)));
}

const unread = new Set<string>();
const resourceKey = (type: string, name: string) => `${type}::${name}`;

/**
 * The resource's type and name from its URN, `urn:pulumi:<stack>::<project>::<parent types $ type>::<name>`; undefined
 * for anything else.
 */
function keyOfUrn(urn: string): string | undefined {
    const parts = urn.split("::");
    if (parts.length < 4 || !parts[0].startsWith("urn:pulumi:")) return undefined;
    const qualifiedType = parts[2];
    return resourceKey(qualifiedType.slice(qualifiedType.lastIndexOf("$") + 1), parts.slice(3).join("::"));
}

/** RegisterResourceResponse's field numbers (pulumi/resource.proto). */
const URN_FIELD = 1;
const OBJECT_FIELD = 3;

/**
 * The bytes of a RegisterResourceResponse without its `object` field when the URN is of a resource marked unread;
 * otherwise (and for anything that does not parse as a message) the bytes unchanged, for the SDK's decoder to judge.
 */
export function withoutUnreadOutputs(bytes: Uint8Array): Uint8Array {
    const fields = topLevelFields(bytes);
    if (fields === undefined) return bytes;
    const urn = fields.find((f) => f.field === URN_FIELD && f.wireType === 2);
    if (urn === undefined) return bytes;
    const key = keyOfUrn(new TextDecoder().decode(bytes.subarray(urn.valueStart, urn.end)));
    if (key === undefined || !unread.has(key) || !fields.some((f) => f.field === OBJECT_FIELD)) return bytes;
    const kept = fields.filter((f) => f.field !== OBJECT_FIELD);
    const out = new Uint8Array(kept.reduce((n, f) => n + f.end - f.start, 0));
    let at = 0;
    for (const f of kept) {
        out.set(bytes.subarray(f.start, f.end), at);
        at += f.end - f.start;
    }
    return out;
}

interface WireField {
    field: number;
    wireType: number;
    /** Where the field's tag starts. */
    start: number;
    /** Where its value starts (for a length-delimited field, after the length). */
    valueStart: number;
    end: number;
}

/** A protobuf message's top-level fields in order, or undefined when the bytes are not one (or use groups). */
function topLevelFields(bytes: Uint8Array): WireField[] | undefined {
    const fields: WireField[] = [];
    let at = 0;
    while (at < bytes.length) {
        const tag = varint(bytes, at);
        if (tag === undefined) return undefined;
        const [key, afterTag] = tag;
        const field = Math.floor(key / 8);
        const wireType = key % 8;
        let valueStart = afterTag;
        let end: number;
        switch (wireType) {
            case 0: {
                const v = varint(bytes, afterTag);
                if (v === undefined) return undefined;
                end = v[1];
                break;
            }
            case 1:
                end = afterTag + 8;
                break;
            case 2: {
                const length = varint(bytes, afterTag);
                if (length === undefined) return undefined;
                valueStart = length[1];
                end = valueStart + length[0];
                break;
            }
            case 5:
                end = afterTag + 4;
                break;
            default:
                return undefined;
        }
        if (field === 0 || end > bytes.length) return undefined;
        fields.push({ field, wireType, start: at, valueStart, end });
        at = end;
    }
    return fields;
}

/** A varint at `at`: its value (exact below 2^53, which tags and lengths are) and where the next byte is. */
function varint(bytes: Uint8Array, at: number): [number, number] | undefined {
    let value = 0;
    for (let shift = 0; at < bytes.length && shift < 64; shift += 7) {
        const byte = bytes[at++];
        value += (byte & 0x7f) * 2 ** shift;
        if ((byte & 0x80) === 0) return [value, at];
    }
    return undefined;
}

export const responseDecoder = new SdkExport<(bytes: Uint8Array) => unknown>("drop-unread-outputs", "@pulumi/pulumi/proto/resource_pb", "deserializeBinary", { from: __filename, target: (m) => m.RegisterResourceResponse });
