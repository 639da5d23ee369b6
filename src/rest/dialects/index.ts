// Every REST dialect this service speaks; the token's format picks one (DESIGN.md).
import type { Dialect } from "../route.js";
import { convo } from "./convo.js";

export const dialects: Dialect[] = [convo];
