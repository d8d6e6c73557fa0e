/** Reading the valibot schema as data: the schema at a path, and the keys a mapping accepts. */
import type { Path } from "./path.ts";

interface SchemaLike {
  type: string;
  wrapped?: SchemaLike;
  entries?: Record<string, SchemaLike>;
  item?: SchemaLike;
  value?: SchemaLike;
  options?: SchemaLike[];
}

function unwrap(schema: SchemaLike | undefined): SchemaLike | undefined {
  let s = schema;
  while (
    s &&
    (s.type === "optional" || s.type === "nullish" || s.type === "nullable" || s.type === "exact_optional")
  ) {
    s = s.wrapped;
  }
  return s;
}

/** The schema that validates the value at `path`, or undefined where the schema has nothing there. */
export function schemaAt(root: unknown, path: Path): unknown {
  let s = unwrap(root as SchemaLike);
  for (const part of path) {
    if (!s) return undefined;
    if (s.entries) s = unwrap(s.entries[String(part)]);
    else if (s.type === "array") s = unwrap(s.item);
    else if (s.type === "record") s = unwrap(s.value);
    else if (s.type === "union" && s.options) {
      s = unwrap(
        s.options
          .map((o) => unwrap(o))
          .map((o) =>
            o?.entries ? unwrap(o.entries[String(part)]) : o?.type === "array" ? unwrap(o.item) : undefined,
          )
          .find(Boolean),
      );
    } else return undefined;
  }
  return s;
}

/** The keys a mapping at `path` accepts (for "did you mean"). */
export function keysAt(root: unknown, path: Path): string[] {
  const s = unwrap(schemaAt(root, path) as SchemaLike | undefined);
  return s?.entries ? Object.keys(s.entries) : [];
}
