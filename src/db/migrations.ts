// Migrations without Prisma's native schema engine.
//
// `prisma migrate` downloads a native engine, which machines without access to Prisma's
// download host cannot fetch. Prisma publishes the same engine compiled to WebAssembly;
// driven through a driver adapter it applies `prisma/migrations` and records them in
// `_prisma_migrations` exactly as `prisma migrate deploy` does. See docs in the README.
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import type { MigrationList, SchemaEngine, SchemaFilter } from "@prisma/schema-engine-wasm";
import { PrismaPGlite } from "pglite-prisma-adapter";

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const schemaPath = path.join(projectRoot, "prisma", "schema.prisma");
export const migrationsDir = path.join(projectRoot, "prisma", "migrations");
const lockfileName = "migration_lock.toml";
const noFilter: SchemaFilter = { externalTables: [], externalEnums: [] };

type SchemaEngineModule = typeof import("@prisma/schema-engine-wasm/schema_engine_bg");
let engineModule: Promise<SchemaEngineModule> | undefined;

// @types/node 20 does not declare the WebAssembly global; these are the two calls used here.
const wasm = (globalThis as unknown as {
  WebAssembly: {
    compile(bytes: Uint8Array): Promise<object>;
    instantiate(module: object, imports: object): Promise<{ exports: object }>;
  };
}).WebAssembly;

// The package entry imports the .wasm file as an ES module, which Node refuses, so the
// module is instantiated by hand, once per process.
function loadEngineModule(): Promise<SchemaEngineModule> {
  engineModule ??= (async () => {
    const bindings = await import("@prisma/schema-engine-wasm/schema_engine_bg");
    const require = createRequire(import.meta.url);
    const wasmFile = path.join(path.dirname(require.resolve("@prisma/schema-engine-wasm")), "schema_engine_bg.wasm");
    const compiled = await wasm.compile(await readFile(wasmFile));
    const instance = await wasm.instantiate(compiled, { "./schema_engine_bg.js": bindings });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start: () => void }).__wbindgen_start();
    return bindings;
  })();
  return engineModule;
}

async function withEngine<T>(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  run: (engine: SchemaEngine, schema: string) => Promise<T>,
): Promise<T> {
  const { SchemaEngine } = await loadEngineModule();
  const schema = await readFile(schemaPath, "utf8");
  const engine = await SchemaEngine.new(
    { datamodels: [[schemaPath, schema]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(adapterFactory),
  );
  try {
    return await run(engine, schema);
  } finally {
    engine.free();
  }
}

export async function readMigrationList(dir = migrationsDir): Promise<MigrationList> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const lockfile = await readFile(path.join(dir, lockfileName), "utf8").catch(() => null);
  return {
    baseDir: dir,
    lockfile: { path: lockfileName, content: lockfile },
    shadowDbInitScript: "",
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: {
          path: "migration.sql",
          content: await readFile(path.join(dir, name, "migration.sql"), "utf8").then(
            (value) => ({ tag: "ok" as const, value }),
            (error: Error) => ({ tag: "error" as const, value: error.message }),
          ),
        },
      })),
    ),
  };
}

/** Applies every migration not yet recorded in `_prisma_migrations`; returns their names. */
export async function applyMigrations(adapterFactory: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  const migrationsList = await readMigrationList();
  return withEngine(adapterFactory, async (engine) => {
    const result = await engine.applyMigrations({ migrationsList, filters: noFilter });
    return result.appliedMigrationNames;
  });
}

/**
 * The SQL that takes the migration history to the current schema.prisma; undefined when
 * they agree. The history is replayed on a throw-away in-memory PGlite database, so this
 * needs no database server.
 */
export async function pendingSchemaChanges(migrationsList: MigrationList): Promise<string | undefined> {
  const scratch = new PGlite();
  try {
    return await withEngine(new PrismaPGlite(scratch), async (engine, schema) => {
      const diff = await engine.diff({
        from:
          migrationsList.migrationDirectories.length > 0
            ? { tag: "migrations", ...migrationsList }
            : { tag: "empty" },
        to: { tag: "schemaDatamodel", files: [{ path: schemaPath, content: schema }] },
        script: true,
        exitCode: true,
        filters: noFilter,
      });
      return diff.exitCode === 2 ? diff.stdout ?? "" : undefined;
    });
  } finally {
    await scratch.close();
  }
}

/** Writes the next migration from schema.prisma; returns its folder name, or undefined when there is nothing to migrate. */
export async function createMigration(name: string, now = new Date()): Promise<string | undefined> {
  if (!/^[a-z0-9_]+$/.test(name)) {
    throw new Error("A migration name is lowercase letters, digits and underscores, e.g. add_booking_notes");
  }
  const migrationsList = await readMigrationList();
  const sql = await pendingSchemaChanges(migrationsList);
  if (sql === undefined) return undefined;
  const stamp = now.toISOString().replace(/\D/g, "").slice(0, 14);
  const dirName = `${stamp}_${name}`;
  await mkdir(path.join(migrationsDir, dirName), { recursive: true });
  await writeFile(path.join(migrationsDir, dirName, "migration.sql"), sql);
  if (migrationsList.lockfile.content === null) {
    await writeFile(
      path.join(migrationsDir, lockfileName),
      '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
    );
  }
  return dirName;
}
