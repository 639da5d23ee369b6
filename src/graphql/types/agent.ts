// Agents (the AI assistants) and the inbound channels they answer on.
import type { Prisma } from "../../generated/prisma/client.js";
import { reserveNumbers } from "../../db/numbers.js";
import { builder } from "../builder.js";
import { newestFirst, offsetArgOptions, withOffset } from "../pagination.js";
import type { Context } from "../context.js";
import { requireOwned } from "../ownership.js";
import { idOf } from "../ids.js";
import { rules } from "../validation.js";
import { AgentStatusEnum, ChannelTypeEnum } from "./enums.js";


export const AgentRef = builder.prismaNode("Agent", {
  id: { field: "id" },
  authScopes: { scope: "agents:read", $granted: "written" },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId }),
  fields: (t) => ({
    number: t.exposeInt("number", { description: "Integer id, as Velents Agent.sa exposes agents." }),
    publicId: t.exposeString("publicId"),
    name: t.exposeString("name"),
    status: t.expose("status", { type: AgentStatusEnum }),
    systemPrompt: t.exposeString("systemPrompt"),
    modelProvider: t.exposeString("modelProvider", { nullable: true }),
    modelName: t.exposeString("modelName", { nullable: true }),
    channels: t.relation("channels", { query: { orderBy: newestFirst } }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

export const ChannelRef = builder.prismaNode("Channel", {
  id: { field: "id" },
  authScopes: { scope: "channels:read", $granted: "written" },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.tenantId }),
  fields: (t) => ({
    type: t.expose("type", { type: ChannelTypeEnum }),
    name: t.exposeString("name"),
    agent: t.relation("agent", { nullable: true }),
    agentId: t.globalID({ nullable: true, resolve: (channel) => (channel.agentId ? { type: "Agent", id: channel.agentId } : null) }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

function agentWhere(ctx: Context, status: string | null | undefined): Prisma.AgentWhereInput {
  return { tenantId: ctx.tenantId, ...(status ? { status: status as Prisma.AgentWhereInput["status"] } : {}) };
}

function channelWhere(ctx: Context, args: { type?: string | null; agentId?: { id: string } | null }): Prisma.ChannelWhereInput {
  return {
    tenantId: ctx.tenantId,
    ...(args.type ? { type: args.type as Prisma.ChannelWhereInput["type"] } : {}),
    ...(args.agentId ? { agentId: args.agentId.id } : {}),
  };
}

builder.queryFields((t) => ({
  agents: t.prismaConnection({
    type: "Agent",
    cursor: "id",
    authScopes: { scope: "agents:read" },
    args: { status: t.arg({ type: AgentStatusEnum }), offset: t.arg.int(offsetArgOptions) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.agent.findMany({ ...withOffset(query, args.offset), where: agentWhere(ctx, args.status), orderBy: newestFirst }),
    totalCount: (_parent, args, ctx) => ctx.prisma.agent.count({ where: agentWhere(ctx, args.status) }),
  }),
  channels: t.prismaConnection({
    type: "Channel",
    cursor: "id",
    authScopes: { scope: "channels:read" },
    args: {
      type: t.arg({ type: ChannelTypeEnum }),
      agentId: t.arg.globalID({ for: AgentRef, validate: idOf("Agent").nullish() }),
      offset: t.arg.int(offsetArgOptions),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.channel.findMany({ ...withOffset(query, args.offset), where: channelWhere(ctx, args), orderBy: newestFirst }),
    totalCount: (_parent, args, ctx) => ctx.prisma.channel.count({ where: channelWhere(ctx, args) }),
  }),
}));

const CreateAgentInput = builder.inputType("CreateAgentInput", {
  fields: (t) => ({
    name: t.string({ required: true, validate: rules.name }),
    status: t.field({ type: AgentStatusEnum }),
    systemPrompt: t.string({ validate: rules.longText }),
    modelProvider: t.string({ validate: rules.shortText }),
    modelName: t.string({ validate: rules.shortText }),
  }),
});

const CreateChannelInput = builder.inputType("CreateChannelInput", {
  fields: (t) => ({
    type: t.field({ type: ChannelTypeEnum, required: true }),
    name: t.string({ required: true, validate: rules.name }),
    agentId: t.globalID({ for: AgentRef, validate: idOf("Agent").nullish() }),
  }),
});

builder.mutationFields((t) => ({
  createAgent: t.prismaField({
    type: "Agent",
    authScopes: { scope: "agents:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: CreateAgentInput, required: true }) },
    resolve: (query, _root, { input }, ctx) =>
      ctx.prisma.$transaction(async (tx) => {
        const number = await reserveNumbers(tx, ctx.tenantId, "lastAgentNumber");
        // The public handle carries the number, as in Agent.sa's "acme_sales_Agent_4".
        const handle = input.name.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "").slice(0, 40) || "agent";
        return tx.agent.create({
          ...query,
          data: {
            tenantId: ctx.tenantId,
            number,
            publicId: `${handle}_Agent_${number}`,
            name: input.name,
            status: input.status ?? undefined,
            systemPrompt: input.systemPrompt ?? undefined,
            modelProvider: input.modelProvider,
            modelName: input.modelName,
          },
        });
      }),
  }),
  createChannel: t.prismaField({
    type: "Channel",
    authScopes: { scope: "channels:write" },
    grantScopes: ["written"],
    args: { input: t.arg({ type: CreateChannelInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      await requireOwned(ctx, "Agent", input.agentId?.id, "input.agentId");
      return ctx.prisma.channel.create({
        ...query,
        data: { tenantId: ctx.tenantId, type: input.type, name: input.name, agentId: input.agentId?.id },
      });
    },
  }),
}));
