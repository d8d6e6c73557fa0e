/** Walking a parsed config tree (plain objects, arrays, scalars) with each value's path. */
import { isPlainObject, type Path } from "./path.ts";

/** Visits every node, containers included, parents before their children. */
export function forEachNode(
  node: unknown,
  visit: (value: unknown, path: Path) => void,
  path: Path = [],
): void {
  visit(node, path);
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) forEachNode(item, visit, [...path, i]);
  } else if (isPlainObject(node)) {
    for (const [key, value] of Object.entries(node)) forEachNode(value, visit, [...path, key]);
  }
}

/** Visits every leaf (a value that is not an object or array); `replace` swaps it in its container. */
export function forEachLeaf(
  node: unknown,
  visit: (value: unknown, path: Path, replace: (next: unknown) => void) => void,
  path: Path = [],
  replace: (next: unknown) => void = () => {},
): void {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) {
      forEachLeaf(item, visit, [...path, i], (next) => {
        node[i] = next;
      });
    }
  } else if (isPlainObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      forEachLeaf(value, visit, [...path, key], (next) => {
        node[key] = next;
      });
    }
  } else {
    visit(node, path, replace);
  }
}
