import type { Viewer } from "../auth/viewer.js";
import type { Config } from "../config.js";
import type { PrismaClient } from "../db/client.js";
import type { EventBus } from "../events/bus.js";
import type { LiveSession } from "../live/registry.js";
import type { Webhooks } from "../webhooks/engine.js";
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
  /** Live subscribers hear of a write here after it committed (src/graphql/publish.ts). */
  events: EventBus;
  /** The outbox a write records its events in, inside its transaction (src/graphql/publish.ts). */
  webhooks: Webhooks;
  live: LiveSession;
}

export interface Services {
  prisma: PrismaClient;
  events: EventBus;
  webhooks: Webhooks;
}

export function createContext(services: Services, viewer: Viewer, live: LiveSession, limits: Config["limits"]): Context {
  const tenantId = viewer.tenant.id;
  return { ...services, viewer, tenantId, limits, live, loaders: createLoaders(services.prisma, tenantId) };
}
