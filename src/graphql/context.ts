import type { Viewer } from "../auth/viewer.js";
import type { Config } from "../config.js";
import type { PrismaClient } from "../db/client.js";
import type { EventBus } from "../events/bus.js";
import type { LiveSession } from "../live/registry.js";
import { createLoaders, type Loaders } from "./loaders.js";

export interface Context {
  prisma: PrismaClient;
  viewer: Viewer;
  /** Shorthand for viewer.tenant.id: every query and write is filtered by it. */
  tenantId: string;
  limits: Config["limits"];
  /**
   * Per request; a subscription swaps in each event's loaders, which every subscriber of
   * that event on this instance shares (see src/live/stream.ts).
   */
  loaders: Loaders;
  /** Resolvers publish here after their write has committed, never before. */
  events: EventBus;
  live: LiveSession;
}

export interface Services {
  prisma: PrismaClient;
  events: EventBus;
}

export function createContext(services: Services, viewer: Viewer, live: LiveSession, limits: Config["limits"]): Context {
  const tenantId = viewer.tenant.id;
  return { ...services, viewer, tenantId, limits, live, loaders: createLoaders(services.prisma, tenantId) };
}
