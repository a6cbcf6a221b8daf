// What src/index.d.ts declares, read with the TypeScript compiler (a dev dependency), so a
// test can hold a real answer of the server against its declared type: every field it
// sends is declared, every declared (non-optional) field is sent, and each value is of
// its declared type.

import { fileURLToPath } from "node:url";
import ts from "typescript";

const DECLARATIONS = fileURLToPath(new URL("../src/index.d.ts", import.meta.url));

let cached = null;

function load() {
  if (cached) return cached;
  const program = ts.createProgram([DECLARATIONS], {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ["node"],
  });
  const errors = ts.getPreEmitDiagnostics(program);
  if (errors.length) {
    const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => "", getNewLine: () => "\n" };
    throw new Error(ts.formatDiagnostics(errors, host));
  }
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(DECLARATIONS));
  const exports = new Map(checker.getExportsOfModule(module).map((s) => [s.name, s]));
  cached = { checker, exports };
  return cached;
}

/** The names of what index.d.ts exports as values (classes, constants, functions). */
export function declaredValues() {
  const { exports } = load();
  return [...exports.values()].filter((s) => s.flags & ts.SymbolFlags.Value).map((s) => s.name).sort();
}

/** The exported type `name` (an interface or a type alias). */
export function declaredType(name) {
  const { checker, exports } = load();
  const symbol = exports.get(name);
  if (!symbol) throw new Error(`index.d.ts exports no ${name}`);
  return checker.getDeclaredTypeOfSymbol(symbol);
}

/** The type of property `key` of `type` (e.g. EventDataByType's "amd"), or null. */
export function propertyType(type, key) {
  const { checker } = load();
  const property = checker.getPropertyOfType(type, key);
  return property ? checker.getTypeOfSymbol(property) : null;
}

/** The declared property names of `type` (by name or type), each with whether it is optional. */
export function declaredFields(type) {
  const { checker } = load();
  if (typeof type === "string") type = declaredType(type);
  return checker.getPropertiesOfType(type).map((p) => [p.name, (p.flags & ts.SymbolFlags.Optional) !== 0]);
}

/**
 * The ways `value` differs from `type` (an exported name, or a Type): [] when it conforms.
 * Objects are compared field by field (undeclared fields, missing non-optional ones),
 * arrays element by element, unions member by member.
 */
export function mismatches(value, type, path = "") {
  const { checker } = load();
  if (typeof type === "string") {
    const name = type;
    type = declaredType(name);
    path ||= name;
  }
  const F = ts.TypeFlags;
  const flags = type.flags;
  const shown = () => `${path}: ${JSON.stringify(value)} is not ${checker.typeToString(type)}`;
  if (flags & (F.Any | F.Unknown)) return [];
  if (flags & F.Union) {
    const each = type.types.map((member) => mismatches(value, member, path));
    if (each.some((m) => m.length === 0)) return [];
    const objects = type.types.filter((t) => t.flags & F.Object);
    // One object member (T | null): its own mismatches say more than "not T | null".
    if (value !== null && typeof value === "object" && objects.length === 1) {
      return mismatches(value, objects[0], path);
    }
    return [shown()];
  }
  if (flags & F.Intersection) return type.types.flatMap((member) => mismatches(value, member, path));
  if (flags & F.Null) return value === null ? [] : [shown()];
  if (flags & F.Undefined) return value === undefined ? [] : [shown()];
  if (flags & F.StringLiteral || flags & F.NumberLiteral) return value === type.value ? [] : [shown()];
  if (flags & F.BooleanLiteral) {
    return value === (checker.typeToString(type) === "true") ? [] : [shown()];
  }
  if (flags & F.String) return typeof value === "string" ? [] : [shown()];
  if (flags & F.Number) return typeof value === "number" ? [] : [shown()];
  if (flags & F.Boolean) return typeof value === "boolean" ? [] : [shown()];
  if (!(flags & F.Object)) throw new Error(`${path}: cannot check a ${checker.typeToString(type)}`);
  if (checker.isArrayType(type)) {
    if (!Array.isArray(value)) return [shown()];
    const [element] = checker.getTypeArguments(type);
    return value.flatMap((item, i) => mismatches(item, element, `${path}[${i}]`));
  }
  const fields = checker.getPropertiesOfType(type);
  const index = checker.getIndexTypeOfType(type, ts.IndexKind.String);
  if (fields.length === 0 && !index) return value === null || value === undefined ? [shown()] : []; // {}
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [shown()];
  if (fields.length === 0) {
    // A Record<string, T>: every value is a T.
    return Object.entries(value).flatMap(([key, item]) => mismatches(item, index, `${path}.${key}`));
  }
  const found = [];
  const declared = new Set();
  for (const field of fields) {
    declared.add(field.name);
    const optional = (field.flags & ts.SymbolFlags.Optional) !== 0;
    if (!(field.name in value)) {
      if (!optional) found.push(`${path}.${field.name}: declared, not sent`);
      continue;
    }
    // An optional field's type includes undefined: a union, checked member by member.
    found.push(...mismatches(value[field.name], checker.getTypeOfSymbol(field), `${path}.${field.name}`));
  }
  for (const key of Object.keys(value)) {
    if (!declared.has(key)) found.push(`${path}.${key}: sent (${JSON.stringify(value[key])}), not declared`);
  }
  return found;
}

/**
 * The ways a streamed `{ id, event, data }` differs from its declaration: `event` one of
 * EventDataByType's, `data` its type, `id` a number for a StoredEventType, else null.
 */
export function eventMismatches({ id, event, data, ...rest }) {
  const found = Object.keys(rest).map((key) => `${event}: ${key} beside id, event and data`);
  const dataType = propertyType(declaredType("EventDataByType"), event);
  if (!dataType) return [...found, `${event}: not an event type EventDataByType declares`];
  const stored = declaredType("StoredEventType").types.map((t) => t.value);
  const idOk = stored.includes(event) ? Number.isInteger(id) : id === null;
  if (!idOk) found.push(`${event}: id ${id} (${stored.includes(event) ? "stored: a number" : "unstored: null"})`);
  return [...found, ...mismatches(data, dataType, `${event}.data`)];
}
