/**
 * A small declarative layout module for C structs.
 *
 * One definition per struct gives its size, alignment, field offsets and
 * DataView codecs, following the C ABI of x86-64/arm64 Linux: every scalar is
 * aligned to its own size unless the struct is `packed`, the struct is
 * aligned to its widest member, and its size is rounded up to that alignment.
 * Nothing elsewhere in ctmap keeps its own offset table: code that must be
 * fast reads `layout.offsetOf.<field>` and uses a DataView directly.
 *
 * Multi-byte scalars are read and written little-endian (host order on every
 * platform ctmap supports). Fields that the kernel keeps in network order —
 * ports, rev_nat_index, nat_port — are therefore exposed as the "raw" value,
 * exactly as Cilium's Go structs hold them.
 */
import { describe } from './describe.js';
import { dataView } from './bytes.js';

export interface FieldType<T> {
  readonly kind: string;
  readonly size: number;
  readonly align: number;
  read(dv: DataView, offset: number): T;
  write(dv: DataView, offset: number, value: T): void;
  zero(): T;
  /** Throws a RangeError/TypeError naming `what` when `value` does not fit. */
  check(value: unknown, what: string): T;
}

/** Padding: occupies bytes, carries no value, always encoded as zeros. */
export interface PadType extends FieldType<undefined> {
  readonly kind: 'pad';
}

function intType(kind: string, size: number, max: number, signed: boolean,
  read: (dv: DataView, o: number) => number,
  write: (dv: DataView, o: number, v: number) => void): FieldType<number> {
  const min = signed ? -max - 1 : 0;
  return {
    kind, size, align: size, read, write,
    zero: () => 0,
    check(value, what) {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw new TypeError(`${what}: expected an integer (${kind}), got ${describe(value)}`);
      }
      if (value < min || value > max) {
        throw new RangeError(`${what}: ${value} is out of range for ${kind} (${min}..${max})`);
      }
      return value;
    },
  };
}

export const u8 = intType('u8', 1, 0xff, false, (dv, o) => dv.getUint8(o), (dv, o, v) => { dv.setUint8(o, v); });
export const u16 = intType('u16', 2, 0xffff, false, (dv, o) => dv.getUint16(o, true), (dv, o, v) => { dv.setUint16(o, v, true); });
export const u32 = intType('u32', 4, 0xffffffff, false, (dv, o) => dv.getUint32(o, true), (dv, o, v) => { dv.setUint32(o, v, true); });
export const i32 = intType('i32', 4, 0x7fffffff, true, (dv, o) => dv.getInt32(o, true), (dv, o, v) => { dv.setInt32(o, v, true); });

const U64_MAX = (1n << 64n) - 1n;

/** u64 is a bigint; safe non-negative integer numbers are accepted on input for convenience. */
export const u64: FieldType<bigint> = {
  kind: 'u64', size: 8, align: 8,
  read: (dv, o) => dv.getBigUint64(o, true),
  write: (dv, o, v) => { dv.setBigUint64(o, v, true); },
  zero: () => 0n,
  check(value, what) {
    let v: bigint;
    if (typeof value === 'bigint') v = value;
    else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
    else throw new TypeError(`${what}: expected a bigint (u64), got ${describe(value)}`);
    if (v < 0n || v > U64_MAX) throw new RangeError(`${what}: ${v} is out of range for u64 (0..${U64_MAX})`);
    return v;
  },
};

/** A byte array of fixed length (addresses, names). Alignment 1, like `__u8 x[n]`. */
export function bytes(n: number): FieldType<Uint8Array> {
  return {
    kind: `u8[${n}]`, size: n, align: 1,
    read: (dv, o) => new Uint8Array(dv.buffer.slice(dv.byteOffset + o, dv.byteOffset + o + n)),
    write: (dv, o, v) => { new Uint8Array(dv.buffer, dv.byteOffset + o, n).set(v); },
    zero: () => new Uint8Array(n),
    check(value, what) {
      if (!(value instanceof Uint8Array)) throw new TypeError(`${what}: expected a Uint8Array of ${n} bytes, got ${describe(value)}`);
      if (value.length !== n) throw new RangeError(`${what}: expected ${n} bytes, got ${value.length}`);
      return value;
    },
  };
}

/** A fixed array of scalars, e.g. `__u64 x[2]`. */
export function array<T>(el: FieldType<T>, n: number): FieldType<T[]> {
  return {
    kind: `${el.kind}[${n}]`, size: el.size * n, align: el.align,
    read(dv, o) {
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(el.read(dv, o + i * el.size));
      return out;
    },
    write(dv, o, v) {
      for (let i = 0; i < n; i++) el.write(dv, o + i * el.size, v[i] as T);
    },
    zero: () => Array.from({ length: n }, () => el.zero()),
    check(value, what) {
      if (!Array.isArray(value)) throw new TypeError(`${what}: expected an array of ${n} ${el.kind}, got ${describe(value)}`);
      if (value.length !== n) throw new RangeError(`${what}: expected ${n} elements, got ${value.length}`);
      return value.map((x, i) => el.check(x, `${what}[${i}]`));
    },
  };
}

export function pad(n: number, align = 1): PadType {
  return {
    kind: 'pad', size: n, align,
    read: () => undefined,
    write: (dv, o) => { new Uint8Array(dv.buffer, dv.byteOffset + o, n).fill(0); },
    zero: () => undefined,
    check: () => undefined,
  };
}

type FieldSpecs = Record<string, FieldType<unknown>>;
type ValueOf<F> = F extends FieldType<infer T> ? T : never;
type NonPadKeys<S extends FieldSpecs> = { [K in keyof S]: S[K] extends PadType ? never : K }[keyof S];
/** The plain-object form of a struct: one property per non-padding field. */
export type Fields<S extends FieldSpecs> = { [K in NonPadKeys<S>]: ValueOf<S[K]> };

export interface FieldInfo {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly type: FieldType<unknown>;
}

export interface StructOptions {
  /** `__attribute__((packed))`: no alignment padding, alignment 1. */
  readonly packed?: boolean;
  /** `__attribute__((aligned(n)))` on the struct. */
  readonly align?: number;
}

export interface Layout<S extends FieldSpecs> extends FieldType<Fields<S>> {
  readonly name: string;
  /** sizeof(struct), rounded up to its alignment. */
  readonly size: number;
  /** offsetofend(struct, last declared field): what a kernel attr of this shape needs. */
  readonly end: number;
  readonly fields: readonly FieldInfo[];
  readonly offsetOf: { readonly [K in keyof S]: number };
  readonly sizeOf: { readonly [K in keyof S]: number };
  /** Decode from `buf` at `offset` into a plain object. */
  decode(buf: Uint8Array, offset?: number): Fields<S>;
  /** Encode `value` into `buf` (a fresh zeroed buffer of `size` bytes by default). */
  encode(value: Fields<S>, buf?: Uint8Array, offset?: number): Uint8Array;
  /** Build a complete value from a partial one, checking each given field; the rest are zero. */
  from(partial: Partial<Record<keyof S, unknown>>, what?: string): Fields<S>;
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export function struct<S extends FieldSpecs>(name: string, specs: S, opts: StructOptions = {}): Layout<S> {
  const fields: FieldInfo[] = [];
  const offsetOf: Record<string, number> = {};
  const sizeOf: Record<string, number> = {};
  let off = 0;
  let maxAlign = 1;
  for (const [fname, type] of Object.entries(specs)) {
    const a = opts.packed === true ? 1 : type.align;
    off = alignUp(off, a);
    fields.push({ name: fname, offset: off, size: type.size, type });
    offsetOf[fname] = off;
    sizeOf[fname] = type.size;
    off += type.size;
    maxAlign = Math.max(maxAlign, a);
  }
  const end = off;
  const align = Math.max(maxAlign, opts.align ?? 1);
  const size = alignUp(end, align);
  const valueFields = fields.filter((f) => f.type.kind !== 'pad');

  const read = (dv: DataView, base: number): Fields<S> => {
    const out: Record<string, unknown> = {};
    for (const f of valueFields) out[f.name] = f.type.read(dv, base + f.offset);
    return out as Fields<S>;
  };
  const write = (dv: DataView, base: number, value: Fields<S>): void => {
    const v = value as Record<string, unknown>;
    for (const f of fields) f.type.write(dv, base + f.offset, v[f.name]);
  };
  const from = (partial: Partial<Record<keyof S, unknown>>, what = name): Fields<S> => {
    const p = partial as Record<string, unknown>;
    for (const k of Object.keys(p)) {
      if (!(k in offsetOf) || (specs[k]?.kind === 'pad')) throw new TypeError(`${what}: unknown field "${k}"`);
    }
    const out: Record<string, unknown> = {};
    for (const f of valueFields) {
      const given = p[f.name];
      out[f.name] = given === undefined ? f.type.zero() : f.type.check(given, `${what}.${f.name}`);
    }
    return out as Fields<S>;
  };

  return {
    kind: `struct ${name}`, name, size, end, align, fields,
    offsetOf: offsetOf as { [K in keyof S]: number },
    sizeOf: sizeOf as { [K in keyof S]: number },
    read, write, from,
    zero: () => from({}),
    check(value, what) {
      if (typeof value !== 'object' || value === null) throw new TypeError(`${what}: expected an object, got ${describe(value)}`);
      return from(value, what);
    },
    decode(buf, offset = 0) {
      if (offset < 0 || buf.length - offset < end) throw new RangeError(`${name}: need ${end} bytes at offset ${offset}, buffer has ${buf.length}`);
      return read(dataView(buf), offset);
    },
    encode(value, buf, offset = 0) {
      const out = buf ?? new Uint8Array(size);
      if (offset < 0 || out.length - offset < end) throw new RangeError(`${name}: need ${end} bytes at offset ${offset}, buffer has ${out.length}`);
      write(dataView(out), offset, value);
      return out;
    },
  };
}
