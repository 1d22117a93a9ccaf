export {
  struct, bytes, array, pad, u8, u16, u32, i32, u64,
  type Layout, type FieldType, type FieldInfo, type Fields, type StructOptions,
} from './layout.js';
export { dataView, getU16, getU32, getU64, setU16, setU32, setU64, swapU16At } from './bytes.js';
export { describe, isObject } from './describe.js';
export {
  parseIPv4, parseIPv6, parseAddr, formatIPv4, formatIPv6, formatAddr, protoName, parseProto, swap16, U8proto, AddrParseError,
} from './inet.js';
export {
  TUPLE_F_OUT, TUPLE_F_IN, TUPLE_F_RELATED, TUPLE_F_SERVICE, ipv4CtTuple, ipv6CtTuple,
  SizeofTupleKey4, SizeofTupleKey6, SizeofCtKey4Global, SizeofCtKey6Global,
  TupleBase, TupleKey4Global, TupleKey6Global, TupleKey4, TupleKey6, CtKey4Global, CtKey6Global, NatKey4, NatKey6,
  type TupleFields, type TupleFieldValues, type Flow, type CtKey, type NatKey, type TupleKeyGlobal,
} from './tuple.js';
export {
  CtEntry, ctEntryLayout, SizeofCtEntry, flagsString, hexPad,
  RxClosing, TxClosing, Nat64, LBLoopback, SeenNonSyn, NodePort, ProxyRedirect, DSRInternal, FromL7LB, Reserved1,
  FromTunnel, MaxFlags, type CtEntryFields, type CtEntryValues,
} from './ctentry.js';
export {
  NatEntry4, NatEntry6, ipv4NatEntry, ipv6NatEntry, SizeofNatEntry4, SizeofNatEntry6, rawCreated,
  type NatEntry, type NatEntryFields, type NatEntryValues,
} from './natentry.js';
export { CtMapRecord, NatMapRecord, parseCtMapRecords, parseNatMapRecords, marshalRecords } from './records.js';
export { marshalIndent, parseJSON, JsonSyntaxError, type JsonValue, type JsonObject } from './json.js';
export { KeySet, KeyList } from './keyset.js';
