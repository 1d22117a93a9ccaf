// Which tests guard which module: the one place that answers "which tests guard orphans.ts?".
// `make mutation` mutates each module below and runs these files against its mutants (StrykerJS, coverage per
// test file, so a mutant runs only the files that reach it). Files that spawn the built CLI are left out: a
// subprocess runs dist/, not Stryker's mutated sources (so is tests/priv/node.test.ts's 1M-entry probe); so is
// tests/priv/gc-race.test.ts (two processes racing for ~14 s a run: a timing measure, not a decision check).
export const guards = {
  'src/ctmap/gc.ts': ['tests/priv/gc.test.ts', 'tests/priv/gc-options.test.ts', 'tests/priv/gc-window.test.ts', 'tests/unit/ctmap.test.ts'],
  'src/ctmap/orphans.ts': ['tests/priv/orphans.test.ts', 'tests/priv/orphans-faults.test.ts', 'tests/priv/nat.test.ts', 'tests/unit/natgcstats.test.ts'],
  'src/ctmap/natfollow.ts': ['tests/priv/natfollow.test.ts', 'tests/priv/gc.test.ts', 'tests/priv/nat.test.ts', 'tests/priv/elemvec.test.ts'],
  'src/nat/keys.ts': ['tests/unit/keys.test.ts'],
  'src/structs/tuple.ts': ['tests/unit/tuple.test.ts'],
  'src/structs/ctentry.ts': ['tests/unit/ctentry.test.ts'],
  'src/structs/natentry.ts': ['tests/unit/natentry.test.ts'],
  'src/syscall/iterate.ts': ['tests/unit/iterate.test.ts', 'tests/unit/syscall-fake.test.ts', 'tests/unit/walk-async.test.ts', 'tests/priv/map.test.ts'],
};
