// The Secure EPT of one TD: a tree of 512-entry tables, 4 levels (GPAW 48) or 5 (GPAW 52). Each entry
// holds its architectural state (SeptState), the HPA it maps (leaf page or next table) and the TD epoch
// at which it was blocked. Level numbering is TDX's: 0 = 4 KiB entries (PT), 1 = 2 MiB (PD), 2 = 1 GiB
// (PDPT), 3 = PML4, 4 = PML5. Lookups are plain number arithmetic (GPAs are < 2^52).
import { levelSize, SeptState } from "./abi/pages.js";

const LEVEL1_SIZE = levelSize(1);

export class SeptTable {
  readonly state = new Uint8Array(512);
  readonly hpa = new Float64Array(512);
  readonly blockEpoch = new Float64Array(512);
  readonly child: (SeptTable | undefined)[] = new Array<SeptTable | undefined>(512).fill(undefined);
  /** 2 MiB TDG.MEM.PAGE.ACCEPT progress (4 KiB pages already zeroed), kept while the entry stays PENDING*. */
  readonly acceptCounter = new Uint16Array(512);
  /** Number of entries that are not FREE (SEPT.REMOVE needs 0). */
  used = 0;
  constructor(
    /** Level of the entries in this table. */
    readonly level: number,
    /** HPA of the page that holds this table. */
    readonly tableHpa: number,
  ) {}
}

export function isLeafState(state: number): boolean {
  return (
    state === SeptState.MAPPED ||
    state === SeptState.BLOCKED ||
    state === SeptState.PENDING ||
    state === SeptState.PENDING_BLOCKED
  );
}
export function isNonLeafState(state: number): boolean {
  return state === SeptState.NL_MAPPED || state === SeptState.NL_BLOCKED;
}

/** Index of `gpa` in a table whose entries are at `level`. */
export function septIndex(gpa: number, level: number): number {
  return Math.floor(gpa / levelSize(level)) % 512;
}

/** Result of a walk: the last entry reached. Reused object (no allocation per walk). */
export class SeptWalk {
  table!: SeptTable;
  index = 0;
  level = 0;
  get state(): number {
    return this.table.state[this.index];
  }
  get hpa(): number {
    return this.table.hpa[this.index];
  }
}

export class SecureEpt {
  readonly root: SeptTable;
  /**
   * Bumped on every entry state change (every mapping change goes with one): a CPU may keep
   * translations of private GPAs across TD entries while this stays the same.
   */
  generation = 0;
  /** Bumped when an entry above the 4 KiB level changes state (tables attached, detached, blocked). */
  private structureGeneration = 0;
  // The 4 KiB table of the last 2 MiB region a walk reached, valid while the structure is unchanged
  // (TD build and ACCEPT walk the same region again and again).
  private leafRegion = -1;
  private leafGeneration = -1;
  private leafTable: SeptTable | undefined;
  constructor(
    /** 4 or 5. */
    readonly levels: number,
    rootHpa: number,
  ) {
    this.root = new SeptTable(levels - 1, rootHpa);
  }

  /**
   * Walks towards `targetLevel`, descending through non-leaf entries; stops early at a leaf or a
   * non-present entry. `out.level === targetLevel` when the walk reached the requested level.
   */
  walk(gpa: number, targetLevel: number, out: SeptWalk): SeptWalk {
    const region = Math.floor(gpa / LEVEL1_SIZE);
    if (targetLevel === 0 && region === this.leafRegion && this.leafGeneration === this.structureGeneration) {
      out.table = this.leafTable!;
      out.index = Math.floor(gpa / 4096) % 512;
      out.level = 0;
      return out;
    }
    let table = this.root;
    for (;;) {
      const index = septIndex(gpa, table.level);
      const state = table.state[index];
      if (table.level === targetLevel || !isNonLeafState(state)) {
        out.table = table;
        out.index = index;
        out.level = table.level;
        if (table.level === 0) {
          this.leafRegion = region;
          this.leafGeneration = this.structureGeneration;
          this.leafTable = table;
        }
        return out;
      }
      table = table.child[index]!;
    }
  }

  setState(table: SeptTable, index: number, state: number): void {
    const was = table.state[index];
    this.generation++;
    if (table.level > 0) this.structureGeneration++;
    if (state !== SeptState.PENDING && state !== SeptState.PENDING_BLOCKED) table.acceptCounter[index] = 0;
    if (was === SeptState.FREE && state !== SeptState.FREE) table.used++;
    else if (was !== SeptState.FREE && state === SeptState.FREE) table.used--;
    table.state[index] = state;
  }

  /** Visits every table (parents first). */
  *tables(): IterableIterator<SeptTable> {
    const stack = [this.root];
    while (stack.length) {
      const t = stack.pop()!;
      yield t;
      for (let i = 0; i < 512; i++) {
        const c = t.child[i];
        if (c) stack.push(c);
      }
    }
  }
}

/** RDX of a SEPT error/result (tdx_sept_level_state): level bits 2:0, public state bits 15:8. */
export function septLevelState(level: number, state: number): bigint {
  return BigInt(level | (state << 8));
}

/**
 * RCX of a SEPT error/result: a model of the architectural SEPT entry: the HPA it maps plus R/W/X
 * for present states and bit 7 (PS) for leaves above 4 KiB; suppress-#VE (bit 63) for private
 * entries. Simplified: real entries also carry the internal state bits; the state is in RDX.
 */
export function septEntryValue(walk: SeptWalk): bigint {
  const state = walk.state;
  let v = BigInt(walk.hpa);
  if (state === SeptState.MAPPED || state === SeptState.NL_MAPPED) v |= 7n;
  if (isLeafState(state) && walk.level > 0) v |= 0x80n;
  return v | (1n << 63n);
}
