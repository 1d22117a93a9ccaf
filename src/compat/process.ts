/**
 * Go's package-level configuration, for code ported from Go: one Settings
 * value for the whole process, replaced by Go's setters (`setMapRoot`,
 * `setCTMapConfig`, `setACT`, …), and the CT→NAT pairing `InitMapInfo`
 * records. This is the only module state in ctmap, and only Go-shaped code
 * reads it: a node handle (`openNode`) carries its own Settings instead.
 *
 * Maps built through this layer capture the settings at construction (as
 * Go's newMap computes sizes then); the logger and the kernel backend are
 * forwarded to the process's current choice at every call, and the GC clock
 * and the ACT hook are read at each pass — as Go reads its package variables.
 */
import { Kernel, defaultKernel } from '../syscall/kernel.js';
import type { BpfBackend } from '../syscall/ffi.js';
import { Settings, type PurgeHook, type SettingsInit } from '../datapath/settings.js';
import { checkRoot, pinPath } from '../datapath/pins.js';
import { stderrLogger, type Logger } from '../datapath/log.js';
import { ClockSourceModeJiffies, ClockSourceModeKtime, type ClockSource } from '../datapath/clock.js';
import { checkMaxConnectedClusters, validateClusterID } from '../datapath/clusterid.js';
import { NatMap, IPv4, IPv6 } from '../nat/natmap.js';
import { describe } from '../structs/describe.js';

let logger: Logger = stderrLogger;
let backend: BpfBackend | undefined;

function currentBackend(): BpfBackend {
  return backend ?? defaultKernel().backend;
}

// Every compat map talks through these, so setLogger/setBackend reach maps built before them too.
const forwardingLogger: Logger = (level, msg, fields) => { logger(level, msg, fields); };
const forwardingKernel = new Kernel({
  get name() { return currentBackend().name; },
  call: (cmd, attr, size) => currentBackend().call(cmd, attr, size),
  address: (buf) => currentBackend().address(buf),
});

let settings = new Settings({ logger: forwardingLogger, kernel: forwardingKernel });
let nat4: NatMap | undefined;
let nat6: NatMap | undefined;

/** The process's settings, as Go's package variables hold them now. */
export function processSettings(): Settings {
  return settings;
}

/** Replace fields of the process settings (validated; nothing changes on error). Returns the previous settings. */
export function updateProcessSettings(changes: SettingsInit): Settings {
  const prev = settings;
  settings = settings.with(changes);
  return prev;
}

/** Set the process settings wholesale (tests restore a saved value). Returns the previous settings. */
export function setProcessSettings(next: Settings): Settings {
  if (!(next instanceof Settings)) throw new TypeError(`expected a Settings object, got ${describe(next)}`);
  const prev = settings;
  settings = next;
  return prev;
}

// --- bpffs root --------------------------------------------------------------

/** Choose the bpffs root maps pin under; pins then live at `<root>/tc/globals/<name>`. */
export function setMapRoot(dir: string): void {
  updateProcessSettings({ bpffs: checkRoot(dir) });
}

export function mapRoot(): string {
  return settings.bpffs;
}

/** `<root>/tc/globals/<name>` under the process's root. */
export function mapPinPath(name: string): string {
  return pinPath(settings.bpffs, name);
}

// --- kernel and logger --------------------------------------------------------

/** Replace the process's kernel backend (undefined: the real one). Returns the previous backend, if one was set. */
export function setBackend(next: BpfBackend | undefined): BpfBackend | undefined {
  const prev = backend;
  backend = next;
  return prev;
}

/** The backend compat maps talk to now. */
export function getBackend(): BpfBackend {
  return currentBackend();
}

/** The funnel under the process's kernel: bpf(cmd, attr) → result or -errno. */
export function bpf(cmd: number, attr: Uint8Array): number {
  return settings.kernel.bpf(cmd, attr);
}

/** Install a logger for the process (returns the previous one). */
export function setLogger(next: Logger): Logger {
  if (typeof (next as unknown) !== 'function') throw new TypeError(`logger must be a function, got ${describe(next)}`);
  const prev = logger;
  logger = next;
  return prev;
}

export { stderrLogger };

// --- sizes ---------------------------------------------------------------------

/** Go's option.Config fields for the CT sizes (0 meaning the default). */
export interface CTMapConfig {
  readonly ctMapEntriesGlobalTCP: number;
  readonly ctMapEntriesGlobalAny: number;
  readonly distributedLRU: boolean;
}

export function ctMapConfig(): CTMapConfig {
  return { ctMapEntriesGlobalTCP: settings.ctSizes.tcp, ctMapEntriesGlobalAny: settings.ctSizes.any, distributedLRU: settings.distributedLRU };
}

/** Set the sizing configuration (unset fields keep their values), validated like the agent; returns the previous one. */
export function setCTMapConfig(c: Partial<CTMapConfig>): CTMapConfig {
  const prev = ctMapConfig();
  if (typeof (c as unknown) !== 'object' || (c as unknown) === null) throw new TypeError(`CT map config must be an object, got ${describe(c)}`);
  const next = { ...prev, ...c };
  if (typeof next.distributedLRU !== 'boolean') throw new TypeError('distributedLRU must be a boolean');
  updateProcessSettings({ ctSizes: { tcp: next.ctMapEntriesGlobalTCP, any: next.ctMapEntriesGlobalAny }, distributedLRU: next.distributedLRU });
  return prev;
}

export function resetCTMapConfig(): void {
  updateProcessSettings({ ctSizes: { tcp: 0, any: 0 }, distributedLRU: false });
}

/** The agent-wide memory flag OR'd into every CT (and NAT) map. */
export function ctMapFlags(): number {
  return settings.mapFlags();
}

/** Set --bpf-nat-global-max (0 means LimitTableMax, as in Go). Returns the previous value. */
export function setNATMapEntriesGlobal(n: number): number {
  const prev = settings.natEntries;
  updateProcessSettings({ natEntries: n });
  return prev;
}

/** Go nat maxEntries(): the configured size, or LimitTableMax when it is 0. */
export function natMapMaxEntries(): number {
  return settings.natMaxEntries();
}

// --- cluster IDs ------------------------------------------------------------------

export function clusterIDMax(): number {
  return settings.clusterIDMax;
}

/** Go's max-connected-clusters option: 255 (default) or 511. Returns the previous maximum. */
export function setMaxConnectedClusters(n: number): number {
  const prev = settings.clusterIDMax;
  updateProcessSettings({ maxConnectedClusters: checkMaxConnectedClusters(n) });
  return prev;
}

/** Go ValidateClusterID under the process's maximum. */
export function ValidateClusterID(clusterID: number): void {
  validateClusterID(clusterID, settings.clusterIDMax);
}

// --- GC hooks -----------------------------------------------------------------------

/** Install (or with undefined remove) the package-level ACT hook. */
export function setACT(hook: PurgeHook | undefined): void {
  updateProcessSettings({ act: hook });
}

/** The agent's clock source for GC "now" (Go GetClockSourceFromOptions): ktime unless set to jiffies. */
export function setGCClockSource(cs: ClockSource): void {
  if (cs.mode !== ClockSourceModeKtime && cs.mode !== ClockSourceModeJiffies) throw new RangeError(`invalid clocksource: ${cs.mode}`);
  updateProcessSettings({ clockSource: cs });
}

export function gcClockSource(): ClockSource {
  return settings.clockSource;
}

// --- CT ↔ NAT pairing -------------------------------------------------------------------

/**
 * Go InitMapInfo: the v4 NAT map serves tcp4 and any4, the v6 one tcp6 and
 * any6. Anything that is not a NAT map of the right family counts as none.
 */
export function InitMapInfo(n4: unknown, n6: unknown): void {
  nat4 = n4 instanceof NatMap && n4.family === IPv4 ? n4 : undefined;
  nat6 = n6 instanceof NatMap && n6.family === IPv6 ? n6 : undefined;
}

/** The NAT map InitMapInfo registered for a family. */
export function globalNatMap(ipv4: boolean): NatMap | undefined {
  return ipv4 ? nat4 : nat6;
}
