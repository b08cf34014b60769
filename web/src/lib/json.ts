// JSON text typed by a person: parse it and say what is wrong in plain words.

import type { JsonObject } from "../api/types";

export type ParsedObject = { ok: true; value: JsonObject | null } | { ok: false; error: string };

/**
 * Parses `text` as a JSON object. Empty text is `null` when `allowEmpty`;
 * arrays, strings and numbers are refused because parameters are an object.
 */
export function parseJsonObject(text: string, allowEmpty = true): ParsedObject {
  if (text.trim() === "") {
    return allowEmpty ? { ok: true, value: null } : { ok: false, error: "enter a JSON object, e.g. {}" };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `not valid JSON: ${(e as Error).message}` };
  }
  if (value === null) return allowEmpty ? { ok: true, value: null } : { ok: false, error: "must be a JSON object" };
  if (typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, error: "must be a JSON object ({ ... }), not " + (Array.isArray(value) ? "an array" : typeof value) };
  }
  return { ok: true, value: value as JsonObject };
}

/** Pretty JSON for display, or an empty string for null/undefined. */
export function pretty(value: unknown): string {
  if (value === null || value === undefined) return "";
  return JSON.stringify(value, null, 2);
}
