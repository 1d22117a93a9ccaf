/**
 * A fake kernel for pure-logic tests, slotted in through the funnel's
 * backend. It keeps hash maps in JS, reads and writes the same attr bytes the
 * real kernel would, and can inject errors. Its fds are real descriptors of
 * /dev/null so that ctmap's FD ownership (close(2) via fs) works unchanged.
 */
import { openSync } from 'node:fs';
import type { BpfBackend } from '../../src/syscall/ffi.js';
import { Kernel } from '../../src/syscall/kernel.js';
import { BpfCmd, bpfMapInfo, infoByFdAttr, mapBatchAttr, mapCreateAttr, mapElemAttr } from '../../src/syscall/attr.js';
import { Errno } from '../../src/syscall/errors.js';
import { dataView } from '../../src/structs/bytes.js';

interface FakeMap {
  type: number; keySize: number; valueSize: number; maxEntries: number; flags: number; name: Uint8Array;
  buckets: number; entries: Map<string, Uint8Array>;
}

export class FakeKernel implements BpfBackend {
  readonly name = 'fake';
  readonly maps = new Map<number, FakeMap>();
  readonly calls: number[] = [];
  /** Return -errno for the nth call of a command (consumed when hit). */
  readonly inject: { cmd: number; errno: number; after?: number }[] = [];
  #bufs: Uint8Array[] = [];
  #kernel: Kernel | undefined;

  /** A Kernel over this fake backend (what maps and settings take). */
  get kernel(): Kernel {
    this.#kernel ??= new Kernel(this);
    return this.#kernel;
  }

  address(buf: Uint8Array): bigint {
    let i = this.#bufs.indexOf(buf);
    if (i < 0) { this.#bufs.push(buf); i = this.#bufs.length - 1; }
    return (BigInt(i + 1) << 32n);
  }

  #mem(addr: bigint, len: number): Uint8Array {
    const i = Number(addr >> 32n) - 1;
    const off = Number(addr & 0xffffffffn);
    const b = this.#bufs[i];
    if (b === undefined || off + len > b.length) throw new Error(`fake kernel: bad pointer ${addr}`);
    return b.subarray(off, off + len);
  }

  /** The bytes at a fake address (what a test standing in for the kernel reads and writes). */
  memory(addr: bigint, len: number): Uint8Array {
    return this.#mem(addr, len);
  }

  #bucket(m: FakeMap, key: string): number {
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
    return h % m.buckets;
  }

  call(cmd: number, attr: Uint8Array, size: number): number {
    this.calls.push(cmd);
    if (size !== attr.length) throw new Error('fake kernel: size mismatch');
    const inj = this.inject.findIndex((x) => x.cmd === cmd && (x.after ?? 0) === 0);
    for (const x of this.inject) if (x.cmd === cmd && (x.after ?? 0) > 0) x.after = (x.after ?? 0) - 1;
    if (inj >= 0) {
      const [hit] = this.inject.splice(inj, 1);
      return -(hit?.errno ?? Errno.EIO);
    }
    const dv = dataView(attr);
    switch (cmd) {
      case BpfCmd.BPF_MAP_CREATE: {
        const a = mapCreateAttr.decode(attr);
        const fd = openSync('/dev/null', 'r');
        this.maps.set(fd, { type: a.map_type, keySize: a.key_size, valueSize: a.value_size, maxEntries: a.max_entries,
          flags: a.map_flags, name: a.map_name, buckets: Math.max(1, a.max_entries >> 2), entries: new Map() });
        return fd;
      }
      case BpfCmd.BPF_OBJ_GET_INFO_BY_FD: {
        const m = this.maps.get(dv.getUint32(infoByFdAttr.offsetOf.bpf_fd, true));
        if (m === undefined) return -Errno.EBADF;
        const out = this.#mem(dv.getBigUint64(infoByFdAttr.offsetOf.info, true), bpfMapInfo.size);
        bpfMapInfo.encode({ ...bpfMapInfo.zero(), type: m.type, key_size: m.keySize, value_size: m.valueSize,
          max_entries: m.maxEntries, map_flags: m.flags, name: m.name, id: 1 }, out);
        return 0;
      }
      case BpfCmd.BPF_MAP_LOOKUP_ELEM: case BpfCmd.BPF_MAP_UPDATE_ELEM: case BpfCmd.BPF_MAP_DELETE_ELEM:
      case BpfCmd.BPF_MAP_GET_NEXT_KEY: {
        const m = this.maps.get(dv.getUint32(mapElemAttr.offsetOf.map_fd, true));
        if (m === undefined) return -Errno.EBADF;
        const kp = dv.getBigUint64(mapElemAttr.offsetOf.key, true);
        const vp = dv.getBigUint64(mapElemAttr.offsetOf.value, true);
        if (cmd === BpfCmd.BPF_MAP_GET_NEXT_KEY) {
          const keys = [...m.entries.keys()];
          const cur = kp === 0n ? -1 : keys.indexOf(Buffer.from(this.#mem(kp, m.keySize)).toString('hex'));
          const next = keys[cur + 1];
          if (next === undefined) return -Errno.ENOENT;
          this.#mem(vp, m.keySize).set(Buffer.from(next, 'hex'));
          return 0;
        }
        const key = Buffer.from(this.#mem(kp, m.keySize)).toString('hex');
        if (cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM) {
          const v = m.entries.get(key);
          if (v === undefined) return -Errno.ENOENT;
          this.#mem(vp, m.valueSize).set(v);
          return 0;
        }
        if (cmd === BpfCmd.BPF_MAP_DELETE_ELEM) return m.entries.delete(key) ? 0 : -Errno.ENOENT;
        m.entries.set(key, this.#mem(vp, m.valueSize).slice());
        return 0;
      }
      case BpfCmd.BPF_MAP_LOOKUP_BATCH: {
        const o = mapBatchAttr.offsetOf;
        const m = this.maps.get(dv.getUint32(o.map_fd, true));
        if (m === undefined) return -Errno.EBADF;
        const max = dv.getUint32(o.count, true);
        const inp = dv.getBigUint64(o.in_batch, true);
        let bucket = inp === 0n ? 0 : dataView(this.#mem(inp, 4)).getUint32(0, true);
        const keys = this.#mem(dv.getBigUint64(o.keys, true), max * m.keySize);
        const values = this.#mem(dv.getBigUint64(o.values, true), max * m.valueSize);
        let total = 0;
        let ret = 0;
        for (;;) {
          if (bucket >= m.buckets) { ret = -Errno.ENOENT; break; }
          const inBucket = [...m.entries].filter(([k]) => this.#bucket(m, k) === bucket);
          if (inBucket.length > max - total) { if (total === 0) ret = -Errno.ENOSPC; break; }
          for (const [k, v] of inBucket) {
            keys.set(Buffer.from(k, 'hex'), total * m.keySize);
            values.set(v, total * m.valueSize);
            total++;
          }
          bucket++;
          if (total === max) break;
        }
        dv.setUint32(o.count, total, true);
        if (ret !== -Errno.ENOSPC) dataView(this.#mem(dv.getBigUint64(o.out_batch, true), 4)).setUint32(0, bucket, true);
        return ret;
      }
      case BpfCmd.BPF_MAP_DELETE_BATCH: {
        const o = mapBatchAttr.offsetOf;
        const m = this.maps.get(dv.getUint32(o.map_fd, true));
        if (m === undefined) return -Errno.EBADF;
        const n = dv.getUint32(o.count, true);
        const keys = this.#mem(dv.getBigUint64(o.keys, true), n * m.keySize);
        let done = 0;
        for (; done < n; done++) {
          const k = Buffer.from(keys.subarray(done * m.keySize, (done + 1) * m.keySize)).toString('hex');
          if (!m.entries.delete(k)) { dv.setUint32(o.count, done, true); return -Errno.ENOENT; }
        }
        dv.setUint32(o.count, done, true);
        return 0;
      }
      case BpfCmd.BPF_MAP_UPDATE_BATCH: {
        // As generic_map_update_batch: element by element, stopping at the first that fails, count = those done.
        const o = mapBatchAttr.offsetOf;
        const m = this.maps.get(dv.getUint32(o.map_fd, true));
        if (m === undefined) return -Errno.EBADF;
        const n = dv.getUint32(o.count, true);
        const flags = Number(dv.getBigUint64(o.elem_flags, true));
        const keys = this.#mem(dv.getBigUint64(o.keys, true), n * m.keySize);
        const values = this.#mem(dv.getBigUint64(o.values, true), n * m.valueSize);
        let done = 0;
        let ret = 0;
        for (; done < n; done++) {
          const k = Buffer.from(keys.subarray(done * m.keySize, (done + 1) * m.keySize)).toString('hex');
          const has = m.entries.has(k);
          if (flags === 2 && !has) { ret = -Errno.ENOENT; break; }
          if (flags === 1 && has) { ret = -Errno.EEXIST; break; }
          if (!has && m.entries.size >= m.maxEntries) { ret = -Errno.E2BIG; break; }
          m.entries.set(k, values.slice(done * m.valueSize, (done + 1) * m.valueSize));
        }
        dv.setUint32(o.count, done, true);
        return ret;
      }
      default:
        return -Errno.EINVAL;
    }
  }
}
