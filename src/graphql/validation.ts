// Input rules shared by every mutation that accepts the same kind of value.
import { z } from "zod";

const MAX_JSON_BYTES = 16_384;

export const rules = {
  name: z.string().trim().min(1, "must not be empty").max(200),
  optionalName: z.string().trim().max(200).nullish(),
  email: z.email("must be a valid email address").max(254).nullish(),
  phone: z
    .string()
    .regex(/^\+?[0-9][0-9 ().-]{5,24}$/, "must be a phone number such as +48 111 222 333")
    .nullish(),
  /** ISO 639-1 or a BCP 47 short tag, as Vorel documents it. */
  language: z
    .string()
    .regex(/^[a-z]{2}(-[A-Z]{2})?$/, "must be a language tag such as en or en-US")
    .nullish(),
  shortText: z.string().max(200).nullish(),
  longText: z.string().max(10_000).nullish(),
  location: z.string().max(500).nullish(),
  messageContent: z.string().trim().min(1, "must not be empty").max(10_000),
  customerIdentifier: z.string().trim().min(1, "must not be empty").max(255),
  tags: z.array(z.string().trim().min(1).max(50)).max(50).nullish(),
  score: z.number().int().min(0).max(100).nullish(),
  jsonObject: z
    .record(z.string(), z.unknown(), "must be a JSON object")
    .refine(
      (value) => Buffer.byteLength(JSON.stringify(value), "utf8") <= MAX_JSON_BYTES,
      `must be at most ${MAX_JSON_BYTES} bytes of JSON`,
    )
    .nullish(),
  search: z.string().max(200).nullish(),
  /**
   * An update must change something: an empty one would only read the row back, letting a
   * write-only token read whole records by id.
   */
  someChange: z
    .record(z.string(), z.unknown())
    .refine((input) => Object.values(input).some((value) => value !== undefined), "send at least one field to change"),
};
