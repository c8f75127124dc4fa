import * as fs from "fs";
import * as readline from "readline";
import { previewComment } from "./comment";
import { OutputFolder } from "./fold";

const USAGE = `usage: ops fold [--log FILE]
         Copies Pulumi output from stdin to stdout with knock-on errors and managedFields folded; FILE is named in the
         summary line as where the whole output is.
       ops comment --stack NAME --log FILE --exit-code N --url URL [--out FILE]
         Writes the pull-request comment for a preview whose whole output is in FILE (at most 65,536 characters).`;

function flags(argv: string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = argv[i + 1];
        if (!flag.startsWith("--") || value === undefined) throw new Error(`unexpected argument "${flag}"`);
        out.set(flag.slice(2), value);
        i++;
    }
    return out;
}

function need(f: Map<string, string>, key: string): string {
    const v = f.get(key);
    if (v === undefined) throw new Error(`--${key} is required`);
    return v;
}

async function fold(f: Map<string, string>): Promise<void> {
    const folder = new OutputFolder(f.get("log"));
    const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of lines) {
        for (const out of folder.push(line)) process.stdout.write(out + "\n");
    }
    for (const out of folder.end()) process.stdout.write(out + "\n");
}

function comment(f: Map<string, string>): void {
    const exitCode = Number(need(f, "exit-code"));
    if (!Number.isInteger(exitCode)) throw new Error(`--exit-code must be a number`);
    const text = previewComment({ stack: need(f, "stack"), log: fs.readFileSync(need(f, "log"), "utf8"), exitCode, logUrl: need(f, "url") });
    const out = f.get("out");
    if (out !== undefined) fs.writeFileSync(out, text);
    else process.stdout.write(text);
}

async function main(argv: string[]): Promise<number> {
    try {
        const [command, ...rest] = argv;
        if (command === "fold") await fold(flags(rest));
        else if (command === "comment") comment(flags(rest));
        else throw new Error(command === undefined ? "no command" : `unknown command "${command}"`);
        return 0;
    } catch (err) {
        process.stderr.write(`ops: ${(err as Error).message}\n${USAGE}\n`);
        return 2;
    }
}

main(process.argv.slice(2)).then((code) => (process.exitCode = code));
