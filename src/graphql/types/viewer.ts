// The caller (viewer), its tenant, and the API tokens that tenant has issued.
import { z } from "zod";
import { toCanonicalScopes, UnknownScopeError, type Scope } from "../../auth/scopes.js";
import { issueToken } from "../../auth/viewer.js";
import { builder } from "../builder.js";
import { newestFirst } from "../pagination.js";
import { badInput, forbidden, orNotFound } from "../errors.js";
import { requireOwned } from "../ownership.js";
import { idOf } from "../ids.js";
import { rules } from "../validation.js";
import { AgentRef } from "./agent.js";
import { PlanEnum, ScopeEnum, TokenFormatEnum } from "./enums.js";

export const TenantRef = builder.prismaNode("Tenant", {
  id: { field: "id" },
  // Only the caller's own tenant is a node; any other id resolves to the nil UUID, which no row has.
  findUnique: (id, ctx) => ({ id: id === ctx.tenantId ? id : "00000000-0000-0000-0000-000000000000" }),
  fields: (t) => ({
    name: t.exposeString("name"),
    slug: t.exposeString("slug"),
    plan: t.expose("plan", { type: PlanEnum }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

export const ApiTokenRef = builder.prismaNode("ApiToken", {
  id: { field: "id" },
  // A token may always see itself; other tokens are for admins.
  authScopes: (token, ctx) => (token.id === ctx.viewer.token.id ? true : { scope: "admin" }),
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId }),
  fields: (t) => ({
    name: t.exposeString("name"),
    format: t.expose("format", { type: TokenFormatEnum }),
    scopes: t.field({ type: [ScopeEnum], resolve: (token) => token.scopes as Scope[] }),
    displayPrefix: t.exposeString("displayPrefix", { description: "The token's first characters, to recognise it." }),
    agent: t.relation("agent", { nullable: true }),
    expiresAt: t.expose("expiresAt", { type: "DateTime", nullable: true }),
    revokedAt: t.expose("revokedAt", { type: "DateTime", nullable: true }),
    lastUsedAt: t.expose("lastUsedAt", {
      type: "DateTime",
      nullable: true,
      description: "Updated at most once a minute.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

const Viewer = builder.objectRef<{ scopes: Scope[] }>("Viewer").implement({
  fields: (t) => ({
    scopes: t.field({ type: [ScopeEnum], resolve: (viewer) => viewer.scopes }),
  }),
});

builder.objectFields(Viewer, (t) => ({
  tenant: t.prismaField({
    type: "Tenant",
    resolve: (query, _viewer, _args, ctx) => ctx.prisma.tenant.findUniqueOrThrow({ ...query, where: { id: ctx.tenantId } }),
  }),
  token: t.prismaField({
    type: "ApiToken",
    resolve: (query, _viewer, _args, ctx) =>
      ctx.prisma.apiToken.findUniqueOrThrow({ ...query, where: { id: ctx.viewer.token.id } }),
  }),
}));

builder.queryFields((t) => ({
  viewer: t.field({
    type: Viewer,
    description: "The calling token, its tenant and its scopes. Needs no scope.",
    resolve: (_root, _args, ctx) => ({ scopes: [...ctx.viewer.scopes] }),
  }),
  apiTokens: t.prismaConnection({
    type: "ApiToken",
    cursor: "id",
    authScopes: { scope: "admin" },
    resolve: (query, _root, _args, ctx) =>
      ctx.prisma.apiToken.findMany({ ...query, where: { tenantId: ctx.tenantId }, orderBy: newestFirst }),
    totalCount: (_parent, _args, ctx) => ctx.prisma.apiToken.count({ where: { tenantId: ctx.tenantId } }),
  }),
}));

const CreateApiTokenInput = builder.inputType("CreateApiTokenInput", {
  fields: (t) => ({
    name: t.string({ required: true, validate: rules.name }),
    format: t.field({ type: TokenFormatEnum, required: true }),
    scopes: t.field({ type: [ScopeEnum], description: "Canonical scopes. With dialectScopes, at least one scope in all." }),
    dialectScopes: t.stringList({
      description: "Scope names as the format's platform writes them (Vorel `read`, Velents `Tickets-Show`, Veleria `full_access`, or canonical names), translated to canonical scopes.",
      validate: z.array(z.string().trim().min(1, "must not be empty").max(100)).max(50).nullish(),
    }),
    expiresAt: t.field({ type: "DateTime" }),
    agentId: t.globalID({ for: AgentRef, validate: idOf("Agent").nullish(), description: "Required for VELENTS_AGENT tokens, which belong to one agent." }),
  }),
});

const CreatedApiToken = builder.objectRef<{ secret: string; tokenId: string }>("CreatedApiToken").implement({
  fields: (t) => ({
    secret: t.exposeString("secret", { description: "The token itself. Shown once: it is stored only as a hash." }),
    token: t.prismaField({
      type: "ApiToken",
      resolve: (query, parent, _args, ctx) => ctx.prisma.apiToken.findUniqueOrThrow({ ...query, where: { id: parent.tokenId } }),
    }),
  }),
});

builder.mutationFields((t) => ({
  createApiToken: t.field({
    type: CreatedApiToken,
    description: "Issues a token with at most the caller's own scopes. The secret is returned once.",
    authScopes: { scope: "admin" },
    args: { input: t.arg({ type: CreateApiTokenInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      let translated: Scope[];
      try {
        translated = toCanonicalScopes(input.format, input.dialectScopes ?? []);
      } catch (error) {
        if (error instanceof UnknownScopeError) throw badInput("input.dialectScopes", error.message);
        throw error;
      }
      const scopes = [...new Set([...(input.scopes ?? []), ...translated])];
      if (scopes.length === 0) throw badInput("input.scopes", "grant at least one scope");
      const beyond = scopes.find((scope) => !ctx.viewer.scopes.has(scope));
      if (beyond) throw forbidden(beyond);
      if (input.expiresAt && input.expiresAt <= new Date()) throw badInput("input.expiresAt", "expiresAt must be in the future");
      if (input.format === "VELENTS_AGENT" && !input.agentId) {
        throw badInput("input.agentId", "VELENTS_AGENT tokens belong to one agent: give agentId");
      }
      await requireOwned(ctx, "Agent", input.agentId?.id, "input.agentId");
      const { token, secret } = await issueToken(ctx.prisma, {
        tenantId: ctx.tenantId,
        name: input.name,
        format: input.format,
        scopes,
        expiresAt: input.expiresAt,
        agentId: input.agentId?.id,
      });
      return { secret, tokenId: token.id };
    },
  }),
  revokeApiToken: t.prismaField({
    type: "ApiToken",
    description: "Revokes a token at once; revoking twice keeps the first time.",
    authScopes: { scope: "admin" },
    grantScopes: ["written"],
    args: { id: t.arg.globalID({ for: ApiTokenRef, required: true, validate: idOf("ApiToken") }) },
    resolve: async (query, _root, { id }, ctx) => {
      const where = { id: id.id, tenantId: ctx.tenantId };
      const { count } = await ctx.prisma.apiToken.updateMany({ where: { ...where, revokedAt: null }, data: { revokedAt: new Date() } });
      // Only when this tenant's token was revoked just now: an id of another tenant's token
      // changes no row here and must not reach that tenant's live connections.
      if (count === 1) ctx.events.publishControl({ type: "TOKEN_REVOKED", tenantId: ctx.tenantId, tokenId: id.id });
      return orNotFound("ApiToken", ctx.prisma.apiToken.findUniqueOrThrow({ ...query, where }));
    },
  }),
}));
