/**
 * Minimal protobuf wire-format reader and writer for the few Convos messages (invites, appData, profiles).
 *
 * Hand-written rather than generated so that decoding hostile input (invite slugs arrive from strangers) can only
 * ever end in a value or a `ProtobufDecodeError`, with explicit bounds on every length.
 */

export class ProtobufDecodeError extends Error {
  readonly _tag = "ProtobufDecodeError"
  constructor(message: string) {
    super(message)
    this.name = "ProtobufDecodeError"
  }
}

export const WireType = { Varint: 0, Fixed64: 1, LengthDelimited: 2, Fixed32: 5 } as const
export type WireType = (typeof WireType)[keyof typeof WireType]

/** One decoded field; `raw` is the complete encoding (tag included), used to carry unknown fields through. */
export type ProtoField =
  | { field: number; wire: 0; value: bigint; raw: Uint8Array }
  | { field: number; wire: 1; value: Uint8Array; raw: Uint8Array }
  | { field: number; wire: 2; value: Uint8Array; raw: Uint8Array }
  | { field: number; wire: 5; value: Uint8Array; raw: Uint8Array }

function readVarint(bytes: Uint8Array, start: number): [bigint, number] {
  let result = 0n
  let shift = 0n
  for (let i = start; i < bytes.length && i < start + 10; i++) {
    const byte = bytes[i] as number
    result |= BigInt(byte & 0x7f) << shift
    if ((byte & 0x80) === 0) return [BigInt.asUintN(64, result), i + 1]
    shift += 7n
  }
  throw new ProtobufDecodeError("truncated or overlong varint")
}

/** Decodes every top-level field of a message, in order. Groups (wire types 3/4) are rejected. */
export function decodeFields(bytes: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = []
  let off = 0
  while (off < bytes.length) {
    const start = off
    const [key, afterKey] = readVarint(bytes, off)
    const field = Number(key >> 3n)
    const wire = Number(key & 7n)
    if (field === 0 || field > 536_870_911) throw new ProtobufDecodeError(`invalid field number ${field}`)
    off = afterKey
    if (wire === 0) {
      const [value, next] = readVarint(bytes, off)
      off = next
      fields.push({ field, wire, value, raw: bytes.subarray(start, off) })
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4
      if (off + size > bytes.length) throw new ProtobufDecodeError(`truncated fixed${size * 8} field ${field}`)
      const value = bytes.subarray(off, off + size)
      off += size
      fields.push({ field, wire, value, raw: bytes.subarray(start, off) })
    } else if (wire === 2) {
      const [length, next] = readVarint(bytes, off)
      if (length > BigInt(bytes.length - next)) throw new ProtobufDecodeError(`truncated length-delimited field ${field}`)
      off = next + Number(length)
      fields.push({ field, wire, value: bytes.subarray(next, off), raw: bytes.subarray(start, off) })
    } else {
      throw new ProtobufDecodeError(`unsupported wire type ${wire} for field ${field}`)
    }
  }
  return fields
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** Typed accessors over decoded fields; a known field with the wrong wire type is a decode error. */
export class ProtoMessage {
  readonly fields: ProtoField[]
  constructor(bytes: Uint8Array) {
    this.fields = decodeFields(bytes)
  }
  private last(field: number, wire: WireType): ProtoField | undefined {
    let found: ProtoField | undefined
    for (const f of this.fields) {
      if (f.field !== field) continue
      if (f.wire !== wire) throw new ProtobufDecodeError(`field ${field} has wire type ${f.wire}, expected ${wire}`)
      found = f
    }
    return found
  }
  bytes(field: number): Uint8Array | undefined {
    const f = this.last(field, WireType.LengthDelimited)
    return f?.wire === 2 ? f.value : undefined
  }
  repeatedBytes(field: number): Uint8Array[] {
    return this.fields.flatMap((f) => {
      if (f.field !== field) return []
      if (f.wire !== 2) throw new ProtobufDecodeError(`field ${field} has wire type ${f.wire}, expected 2`)
      return [f.value]
    })
  }
  string(field: number): string | undefined {
    const value = this.bytes(field)
    if (value === undefined) return undefined
    try {
      return utf8.decode(value)
    } catch {
      throw new ProtobufDecodeError(`field ${field} is not valid UTF-8`)
    }
  }
  varint(field: number): bigint | undefined {
    const f = this.last(field, WireType.Varint)
    return f?.wire === 0 ? f.value : undefined
  }
  bool(field: number): boolean | undefined {
    const value = this.varint(field)
    return value === undefined ? undefined : value !== 0n
  }
  sfixed64(field: number): bigint | undefined {
    const f = this.last(field, WireType.Fixed64)
    if (f?.wire !== 1) return undefined
    return Buffer.from(f.value).readBigInt64LE(0)
  }
  double(field: number): number | undefined {
    const f = this.last(field, WireType.Fixed64)
    if (f?.wire !== 1) return undefined
    return Buffer.from(f.value).readDoubleLE(0)
  }
  /** Raw encodings of fields not in `known`, to re-emit unchanged on write. */
  unknown(known: ReadonlySet<number>): Uint8Array[] {
    return this.fields.filter((f) => !known.has(f.field)).map((f) => f.raw)
  }
}

function encodeVarint(value: bigint): number[] {
  let v = BigInt.asUintN(64, value)
  const out: number[] = []
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return out
}

const utf8Encoder = new TextEncoder()

/** Appends fields in call order; absent (`undefined`) values are skipped. */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = []
  private key(field: number, wire: WireType): void {
    this.parts.push(Uint8Array.from(encodeVarint(BigInt((field << 3) | wire))))
  }
  bytes(field: number, value: Uint8Array | undefined): this {
    if (value === undefined) return this
    this.key(field, WireType.LengthDelimited)
    this.parts.push(Uint8Array.from(encodeVarint(BigInt(value.length))), value)
    return this
  }
  /** proto3 semantics: an empty string is the default and is not written. */
  string(field: number, value: string | undefined): this {
    if (value === undefined || value === "") return this
    return this.bytes(field, utf8Encoder.encode(value))
  }
  varint(field: number, value: bigint | number | undefined): this {
    if (value === undefined) return this
    this.key(field, WireType.Varint)
    this.parts.push(Uint8Array.from(encodeVarint(BigInt(value))))
    return this
  }
  bool(field: number, value: boolean | undefined): this {
    if (!value) return this
    return this.varint(field, 1)
  }
  sfixed64(field: number, value: bigint | undefined): this {
    if (value === undefined) return this
    this.key(field, WireType.Fixed64)
    const buf = Buffer.alloc(8)
    buf.writeBigInt64LE(BigInt.asIntN(64, value))
    this.parts.push(buf)
    return this
  }
  double(field: number, value: number | undefined): this {
    if (value === undefined) return this
    this.key(field, WireType.Fixed64)
    const buf = Buffer.alloc(8)
    buf.writeDoubleLE(value)
    this.parts.push(buf)
    return this
  }
  message(field: number, value: ProtoWriter | undefined): this {
    return value === undefined ? this : this.bytes(field, value.finish())
  }
  raw(encodedFields: readonly Uint8Array[]): this {
    this.parts.push(...encodedFields)
    return this
  }
  finish(): Uint8Array {
    return Buffer.concat(this.parts)
  }
}
