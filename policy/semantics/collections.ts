/** Appends to the list under `key`, creating it on first use: the building block of every index here. */
export function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
    const list = map.get(key);
    if (list === undefined) map.set(key, [value]);
    else list.push(value);
}
