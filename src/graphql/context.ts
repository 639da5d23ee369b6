import type { Viewer } from "../auth/viewer.js";
import type { Config } from "../config.js";
import type { PrismaClient } from "../db/client.js";
import { createLoaders, type Loaders } from "./loaders.js";

export interface Context {
  prisma: PrismaClient;
  viewer: Viewer;
  /** Shorthand for viewer.tenant.id: every query and write is filtered by it. */
  tenantId: string;
  limits: Config["limits"];
  loaders: Loaders;
}

export function createContext(prisma: PrismaClient, viewer: Viewer, limits: Config["limits"]): Context {
  return { prisma, viewer, tenantId: viewer.tenant.id, limits, loaders: createLoaders(prisma, viewer.tenant.id) };
}
