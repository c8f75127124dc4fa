import { GUARDRAIL_PARAM_ANNOTATIONS, GuardrailParams } from "./parameters";

/**
 * Helpers that write CEL text. Everything the policies say is built from them, so that a literal is always quoted the
 * same way and a missing field always reads as empty.
 */

/** A CEL string literal. */
export function cel(value: string): string {
    return JSON.stringify(value);
}

export function celList(values: string[]): string {
    return `[${values.map(cel).join(", ")}]`;
}

/** A parameter list from the namespace's annotations (`variables.params`), dropping the empty string that splitting "" yields. */
export function paramList(field: keyof GuardrailParams): string {
    const key = cel(GUARDRAIL_PARAM_ANNOTATIONS[field]);
    return `(${key} in variables.params ? variables.params[${key}].split(',').filter(n, n != '') : [])`;
}

/** A single-valued parameter, or '' (MT-A5 refuses the request when it is missing). */
export function paramValue(field: keyof GuardrailParams): string {
    const key = cel(GUARDRAIL_PARAM_ANNOTATIONS[field]);
    return `(${key} in variables.params ? variables.params[${key}] : '')`;
}

/** The labels of a metadata expression, or an empty map. */
export function labelsOf(meta: string): string {
    return `(has(${meta}.labels) ? ${meta}.labels : {})`;
}

export function annotationsOf(meta: string): string {
    return `(has(${meta}.annotations) ? ${meta}.annotations : {})`;
}

/** `Kind namespace/name` of the request's object (the old one on DELETE): the namespace and name are the request's. */
export function objectRef(namespaced: boolean): string {
    const kind = "(object != null ? object : oldObject).kind";
    return namespaced ? `${kind} + ' ' + request.namespace + '/' + request.name` : `${kind} + ' ' + request.name`;
}

/**
 * The end of every refusal, appended to a message expression: the object refused and what to ask the platform
 * operators for (`action`, plain text or a CEL string expression when `cel` is set), since only they change the plan.
 */
export function askPlatform(action: string, opts: { namespaced?: boolean; cel?: boolean } = {}): string {
    return ` + '; object: ' + ${objectRef(opts.namespaced ?? true)} + '; ask the platform operators ' + ${opts.cel === true ? action : cel(action)}`;
}
