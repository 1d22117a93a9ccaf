// ctmap/testing: a user-space stand-in for Cilium's datapath (CT entries as ct_create lays them out, SNAT pairs as
// snat_new_mapping allocates them) and the demo node, for your own tests.
export {
  DatapathEmulator, DefaultTimeouts, DROP_NAT_NO_MAPPING, clampPort, seededRandom, snatTuples,
  type Timeouts, type CtState, type CreateOptions, type SnatTarget, type EmulatorMaps, type EmulatorOptions, type FlowRecord,
} from './emulator.js';
export { populateDemoNode, type DemoNode } from './node.js';
export {
  readScenario, listScenarios, scenarioEntries, scenarioSpec, restoreScenario,
  type Scenario, type ScenarioMap, type RecordedEntry,
} from './fixtures.js';
