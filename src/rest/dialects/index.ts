// Every REST dialect this service speaks; the token's format picks one (DESIGN.md).
import type { Dialect } from "../route.js";
import { convo } from "./convo.js";
import { velents } from "./velents.js";
import { velentsAgent } from "./velents-agent.js";
import { veleria } from "./veleria.js";
import { vorel } from "./vorel.js";

export const dialects: Dialect[] = [convo, veleria, vorel, velents, velentsAgent];
