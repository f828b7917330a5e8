/**
 * Validates a GraphQL document and its variables against an introspection schema, for fakes that must refuse what
 * the real server would refuse (the Railway fake uses it with Railway's published schema, `railwaySchema.json`).
 *
 * Hand-written because the `graphql` package is not a dependency of this repository. It covers the language our
 * clients send: one named query or mutation with variable definitions, fields with aliases, arguments (variables and
 * literals) and nested selections; fragments and directives are refused as unsupported rather than half-checked.
 * Checks, as the GraphQL specification's validation and variable coercion rules do: every field exists on its type,
 * arguments exist and required ones are given, variables are defined, used, and of a type the argument accepts,
 * leaves have no selection and objects have one, and each variable's value coerces to its declared input type
 * (unknown or missing input fields, wrong scalars, unknown enum values). Deprecated fields are reported apart:
 * servers accept them, but a client should not depend on them.
 */

interface TypeRef {
  readonly kind: string
  readonly name: string | null
  readonly ofType: TypeRef | null
}
interface InputValue {
  readonly name: string
  readonly type: TypeRef
  readonly defaultValue: string | null
}
interface Field {
  readonly name: string
  readonly args: ReadonlyArray<InputValue>
  readonly type: TypeRef
  readonly isDeprecated?: boolean
}
interface FullType {
  readonly kind: string
  readonly name: string
  readonly fields: ReadonlyArray<Field> | null
  readonly inputFields: ReadonlyArray<InputValue> | null
  readonly enumValues: ReadonlyArray<{ readonly name: string }> | null
}
export interface IntrospectionSchema {
  readonly queryType: { readonly name: string }
  readonly mutationType: { readonly name: string } | null
  readonly types: ReadonlyArray<FullType>
}

export interface ValidationResult {
  readonly errors: ReadonlyArray<string>
  /** `Type.field` of every deprecated field the document selects. */
  readonly deprecated: ReadonlyArray<string>
}

type Value =
  | { readonly kind: "variable"; readonly name: string }
  | { readonly kind: "literal"; readonly value: unknown }
  | { readonly kind: "enum"; readonly value: string }
  | { readonly kind: "list"; readonly values: ReadonlyArray<Value> }
  | { readonly kind: "object"; readonly fields: ReadonlyArray<readonly [string, Value]> }

interface Selection {
  readonly name: string
  readonly args: ReadonlyArray<readonly [string, Value]>
  readonly selections: ReadonlyArray<Selection> | undefined
}

interface Operation {
  readonly kind: "query" | "mutation"
  readonly variables: ReadonlyArray<{ readonly name: string; readonly type: string; readonly hasDefault: boolean }>
  readonly selections: ReadonlyArray<Selection>
}

const tokenPattern = /\s+|,|#[^\n]*|(\.\.\.|[!$():=@[\]{}|])|([_A-Za-z][_0-9A-Za-z]*)|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|("(?:[^"\\\n]|\\.)*")/y

const tokenize = (text: string): Array<string> => {
  const tokens: Array<string> = []
  tokenPattern.lastIndex = 0
  while (tokenPattern.lastIndex < text.length) {
    const at = tokenPattern.lastIndex
    const match = tokenPattern.exec(text)
    if (match === null) throw new Error(`Syntax Error: unexpected character ${JSON.stringify(text[at])} at ${at}`)
    const token = match[1] ?? match[2] ?? match[3] ?? match[4]
    if (token !== undefined) tokens.push(token)
  }
  return tokens
}

const parse = (text: string): Operation => {
  const tokens = tokenize(text)
  let at = 0
  const peek = () => tokens[at]
  const next = () => {
    const token = tokens[at++]
    if (token === undefined) throw new Error("Syntax Error: unexpected end of document")
    return token
  }
  const expect = (wanted: string) => {
    const token = next()
    if (token !== wanted) throw new Error(`Syntax Error: expected ${wanted}, found ${token}`)
  }
  const name = () => {
    const token = next()
    if (!/^[_A-Za-z]/.test(token)) throw new Error(`Syntax Error: expected a name, found ${token}`)
    return token
  }
  const typeText = (): string => {
    let type: string
    if (peek() === "[") {
      next()
      type = `[${typeText()}]`
      expect("]")
    } else {
      type = name()
    }
    if (peek() === "!") {
      next()
      type += "!"
    }
    return type
  }
  const value = (): Value => {
    const token = next()
    if (token === "$") return { kind: "variable", name: name() }
    if (token === "[") {
      const values: Array<Value> = []
      while (peek() !== "]") values.push(value())
      next()
      return { kind: "list", values }
    }
    if (token === "{") {
      const fields: Array<readonly [string, Value]> = []
      while (peek() !== "}") {
        const field = name()
        expect(":")
        fields.push([field, value()])
      }
      next()
      return { kind: "object", fields }
    }
    if (token.startsWith("\"")) return { kind: "literal", value: JSON.parse(token) }
    if (/^-?\d/.test(token)) return { kind: "literal", value: Number(token) }
    if (token === "true" || token === "false") return { kind: "literal", value: token === "true" }
    if (token === "null") return { kind: "literal", value: null }
    return { kind: "enum", value: token }
  }
  const selectionSet = (): Array<Selection> => {
    expect("{")
    const selections: Array<Selection> = []
    while (peek() !== "}") {
      if (peek() === "...") throw new Error("fragments are not supported by this validator")
      let field = name()
      if (peek() === ":") {
        next()
        field = name()
      }
      const args: Array<readonly [string, Value]> = []
      if (peek() === "(") {
        next()
        while (peek() !== ")") {
          const arg = name()
          expect(":")
          args.push([arg, value()])
        }
        next()
      }
      if (peek() === "@") throw new Error("directives are not supported by this validator")
      selections.push({ name: field, args, selections: peek() === "{" ? selectionSet() : undefined })
    }
    next()
    return selections
  }

  const kind = next()
  if (kind !== "query" && kind !== "mutation") throw new Error(`only one query or mutation is supported, found ${kind}`)
  name()
  const variables: Array<{ name: string; type: string; hasDefault: boolean }> = []
  if (peek() === "(") {
    next()
    while (peek() !== ")") {
      expect("$")
      const variable = name()
      expect(":")
      const type = typeText()
      let hasDefault = false
      if (peek() === "=") {
        next()
        value()
        hasDefault = true
      }
      variables.push({ name: variable, type, hasDefault })
    }
    next()
  }
  const selections = selectionSet()
  if (at !== tokens.length) throw new Error("only one operation per document is supported")
  return { kind, variables, selections }
}

const typeRefText = (type: TypeRef): string =>
  type.kind === "NON_NULL" ? `${typeRefText(type.ofType!)}!` : type.kind === "LIST" ? `[${typeRefText(type.ofType!)}]` : type.name!

const namedType = (type: TypeRef): string => (type.ofType === null ? type.name! : namedType(type.ofType))

/** Whether a variable of type `variable` may be used where `location` is expected (spec: AreTypesCompatible). */
const compatible = (variable: string, location: string, locationHasDefault: boolean): boolean => {
  if (location.endsWith("!")) {
    if (!variable.endsWith("!")) return locationHasDefault && compatible(variable, location.slice(0, -1), false)
    return compatible(variable.slice(0, -1), location.slice(0, -1), false)
  }
  if (variable.endsWith("!")) return compatible(variable.slice(0, -1), location, false)
  if (location.startsWith("[")) return variable.startsWith("[") && compatible(variable.slice(1, -1), location.slice(1, -1), false)
  return variable === location
}

export const makeValidator = (schema: IntrospectionSchema) => {
  const types = new Map(schema.types.map((type) => [type.name, type]))

  /** Variable coercion: the value a client sent for a declared type. */
  const coerce = (value: unknown, type: string, path: string, errors: Array<string>): void => {
    if (type.endsWith("!")) {
      if (value === null || value === undefined) {
        errors.push(`Variable "${path}" of non-null type "${type}" must not be null.`)
        return
      }
      return coerce(value, type.slice(0, -1), path, errors)
    }
    if (value === null || value === undefined) return
    if (type.startsWith("[")) {
      const items = Array.isArray(value) ? value : [value]
      items.forEach((item, index) => coerce(item, type.slice(1, -1), `${path}[${index}]`, errors))
      return
    }
    const named = types.get(type)
    if (named === undefined) {
      errors.push(`Unknown type "${type}".`)
      return
    }
    const wrong = () => errors.push(`Variable "${path}" got invalid value ${JSON.stringify(value)}; expected type "${type}".`)
    if (named.kind === "SCALAR") {
      if (type === "String" && typeof value !== "string") wrong()
      if (type === "Boolean" && typeof value !== "boolean") wrong()
      if (type === "Int" && !Number.isInteger(value)) wrong()
      if (type === "Float" && typeof value !== "number") wrong()
      if (type === "ID" && typeof value !== "string" && !Number.isInteger(value)) wrong()
      return
    }
    if (named.kind === "ENUM") {
      if (typeof value !== "string" || !named.enumValues!.some((entry) => entry.name === value)) wrong()
      return
    }
    if (named.kind !== "INPUT_OBJECT") {
      errors.push(`Variable "${path}" has type "${type}", which is not an input type.`)
      return
    }
    if (typeof value !== "object" || Array.isArray(value)) {
      wrong()
      return
    }
    const record = value as Record<string, unknown>
    const fields = new Map(named.inputFields!.map((field) => [field.name, field]))
    for (const key of Object.keys(record)) {
      if (!fields.has(key)) errors.push(`Variable "${path}" got invalid value: field "${key}" is not defined by type "${type}".`)
    }
    for (const field of fields.values()) {
      const fieldType = typeRefText(field.type)
      if (record[field.name] === undefined) {
        if (fieldType.endsWith("!") && field.defaultValue === null) {
          errors.push(`Variable "${path}" got invalid value: field "${field.name}" of required type "${fieldType}" was not provided.`)
        }
        continue
      }
      coerce(record[field.name], fieldType, `${path}.${field.name}`, errors)
    }
  }

  return (document: string, variables: Readonly<Record<string, unknown>>): ValidationResult => {
    let operation: Operation
    try {
      operation = parse(document)
    } catch (error) {
      return { errors: [error instanceof Error ? error.message : String(error)], deprecated: [] }
    }
    const errors: Array<string> = []
    const deprecated: Array<string> = []
    const declared = new Map(operation.variables.map((variable) => [variable.name, variable]))
    const used = new Set<string>()

    const checkValue = (value: Value, type: string, hasDefault: boolean, where: string) => {
      if (value.kind === "variable") {
        used.add(value.name)
        const variable = declared.get(value.name)
        if (variable === undefined) errors.push(`Variable "$${value.name}" is not defined.`)
        else if (!compatible(variable.type, type, hasDefault || variable.hasDefault)) {
          errors.push(`Variable "$${value.name}" of type "${variable.type}" used in position expecting type "${type}".`)
        }
        return
      }
      const nullable = type.endsWith("!") ? type.slice(0, -1) : type
      if (value.kind === "literal" && value.value === null) {
        if (type.endsWith("!")) errors.push(`Expected value of type "${type}", found null (${where}).`)
        return
      }
      if (nullable.startsWith("[")) {
        const items = value.kind === "list" ? value.values : [value]
        for (const item of items) checkValue(item, nullable.slice(1, -1), false, where)
        return
      }
      const named = types.get(nullable)
      if (named?.kind === "INPUT_OBJECT" && value.kind === "object") {
        const fields = new Map(named.inputFields!.map((field) => [field.name, field]))
        for (const [key, inner] of value.fields) {
          const field = fields.get(key)
          if (field === undefined) errors.push(`Field "${key}" is not defined by type "${nullable}" (${where}).`)
          else checkValue(inner, typeRefText(field.type), field.defaultValue !== null, `${where}.${key}`)
        }
        return
      }
      const literal = value.kind === "literal" ? value.value : value.kind === "enum" ? value.value : value
      const literalErrors: Array<string> = []
      if (named?.kind === "ENUM" && value.kind !== "enum") literalErrors.push("enum")
      else coerce(literal, nullable, where, literalErrors)
      if (literalErrors.length > 0) errors.push(`Expected value of type "${type}" (${where}).`)
    }

    const checkSelections = (parentName: string, selections: ReadonlyArray<Selection>) => {
      const parent = types.get(parentName)!
      for (const selection of selections) {
        if (selection.name === "__typename") continue
        const field = parent.fields?.find((candidate) => candidate.name === selection.name)
        if (field === undefined) {
          errors.push(`Cannot query field "${selection.name}" on type "${parentName}".`)
          continue
        }
        if (field.isDeprecated === true) deprecated.push(`${parentName}.${field.name}`)
        const args = new Map(field.args.map((arg) => [arg.name, arg]))
        for (const [argName, value] of selection.args) {
          const arg = args.get(argName)
          if (arg === undefined) errors.push(`Unknown argument "${argName}" on field "${parentName}.${field.name}".`)
          else checkValue(value, typeRefText(arg.type), arg.defaultValue !== null, `${parentName}.${field.name}(${argName})`)
        }
        for (const arg of args.values()) {
          const given = selection.args.some(([argName]) => argName === arg.name)
          if (!given && arg.type.kind === "NON_NULL" && arg.defaultValue === null) {
            errors.push(`Field "${parentName}.${field.name}" argument "${arg.name}" of type "${typeRefText(arg.type)}" is required, but it was not provided.`)
          }
        }
        const target = types.get(namedType(field.type))!
        const leaf = target.kind === "SCALAR" || target.kind === "ENUM"
        if (leaf && selection.selections !== undefined) {
          errors.push(`Field "${field.name}" must not have a selection since type "${target.name}" has no subfields.`)
        } else if (!leaf && selection.selections === undefined) {
          errors.push(`Field "${field.name}" of type "${typeRefText(field.type)}" must have a selection of subfields.`)
        } else if (selection.selections !== undefined) {
          checkSelections(target.name, selection.selections)
        }
      }
    }

    const root = operation.kind === "query" ? schema.queryType.name : schema.mutationType?.name
    if (root === undefined) return { errors: [`The schema has no ${operation.kind} type.`], deprecated }
    checkSelections(root, operation.selections)
    for (const variable of operation.variables) {
      if (!used.has(variable.name)) errors.push(`Variable "$${variable.name}" is never used.`)
      if (!types.has(variable.type.replace(/[[\]!]/g, ""))) errors.push(`Unknown type "${variable.type}".`)
      else coerce(variables[variable.name], variable.type, variable.name, errors)
    }
    return { errors, deprecated }
  }
}
