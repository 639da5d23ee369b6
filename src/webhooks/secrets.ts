// Signing secrets at rest. They are needed in plaintext to sign, so they cannot be hashed like
// API tokens: they are sealed with AES-256-GCM under the instance's key, and no API returns
// them after the one answer that created them.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { WebhookDialect } from "../generated/prisma/enums.js";

export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

const KEY_FILE = "webhook-secret.key";
const VERSION = "v1";

function boxWith(key: Buffer): SecretBox {
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return [VERSION, iv.toString("base64"), cipher.getAuthTag().toString("base64"), ciphertext.toString("base64")].join(".");
    },
    open(sealed) {
      const [version, iv, tag, ciphertext] = sealed.split(".");
      if (version !== VERSION || !iv || !tag || ciphertext === undefined) throw new Error("not a sealed webhook secret");
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64"));
      decipher.setAuthTag(Buffer.from(tag, "base64"));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64")), decipher.final()]).toString("utf8");
    },
  };
}

function keyFrom(base64: string, where: string): Buffer {
  const key = Buffer.from(base64.trim(), "base64");
  if (key.length !== 32) throw new Error(`${where} must be base64 of 32 bytes (openssl rand -base64 32)`);
  return key;
}

/**
 * The key comes from WEBHOOK_SECRET_KEY. Without it, the embedded database keeps one beside
 * its data (generated on first start, readable by this user only); an in-memory database gets
 * one for the life of the process, as its data has. PostgreSQL is shared by instances that
 * must all hold the same key, so there it has to be configured.
 */
export async function loadSecretBox(settings: { secretKey: string | undefined }, database: { dataDir: string | null }): Promise<SecretBox> {
  if (settings.secretKey) return boxWith(keyFrom(settings.secretKey, "WEBHOOK_SECRET_KEY"));
  if (database.dataDir === null) {
    throw new Error("WEBHOOK_SECRET_KEY is required with DATABASE_URL: every instance needs the same key (openssl rand -base64 32)");
  }
  if (database.dataDir === "memory://") return boxWith(randomBytes(32));
  const file = path.join(database.dataDir, KEY_FILE);
  try {
    return boxWith(keyFrom(await readFile(file, "utf8"), file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const key = randomBytes(32);
    // "wx": two processes starting at once on one directory never overwrite each other's key.
    await writeFile(file, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    return boxWith(key);
  }
}

/**
 * A new signing secret in the dialect's format: Convo documents `wh_…`; Veleria signs with
 * Standard Webhooks, whose secrets are `whsec_` + base64 of the key bytes; Vorel documents
 * none, so it gets `vwhsec_` + hex. Agent.sa webhooks have no secret.
 */
export function newSigningSecret(dialect: Exclude<WebhookDialect, "VELENTS_AGENT">): { secret: string; prefix: string } {
  const bytes = randomBytes(32);
  const secret = dialect === "VELERIA" ? `whsec_${bytes.toString("base64")}` : dialect === "CONVO" ? `wh_${bytes.toString("hex")}` : `vwhsec_${bytes.toString("hex")}`;
  // Enough to tell two secrets apart, far too little to guess the rest.
  return { secret, prefix: secret.slice(0, secret.indexOf("_") + 5) };
}
