/**
 * One function exported by a module of the Pulumi SDK, replaced in place and put back on request. The SDK's runtime
 * calls its own exports through the module object, so replacing the export reaches every caller. Used where the
 * program drops SDK work it does not need (components/sdkLog.ts, components/sdkTraces.ts).
 */
export class SdkExport<F> {
    private original: F | undefined;

    constructor(
        private readonly module: Record<string, unknown>,
        private readonly name: string,
    ) {}

    /**
     * Replaces the export with `make(original)`. Returns false, changing nothing, when the export is not a writable
     * property (an SDK upgrade changed the module; then nothing changes but speed).
     */
    replace(make: (original: F) => F): boolean {
        this.restore();
        if (Object.getOwnPropertyDescriptor(this.module, this.name)?.writable !== true) return false;
        const original = this.module[this.name] as F;
        this.original = original;
        this.module[this.name] = make(original);
        return true;
    }

    /** Puts the original back, if it was replaced. */
    restore(): void {
        if (this.original !== undefined) this.module[this.name] = this.original;
        this.original = undefined;
    }
}
