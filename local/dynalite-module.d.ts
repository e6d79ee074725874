/** The part of dynalite (no type declarations of its own) that local/dynalite.ts uses. */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** Milliseconds a table stays CREATING (default 500). */
    readonly createTableMs?: number;
    readonly deleteTableMs?: number;
    readonly updateTableMs?: number;
    /** A LevelDB directory; in memory when absent. */
    readonly path?: string;
  }

  function dynalite(options?: DynaliteOptions): Server;
  export = dynalite;
}
