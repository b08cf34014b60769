import { describe, expect, it } from "vitest";
import { ApiError, queryString, splitFieldMessage } from "../api/client";
import { parseJsonObject } from "./json";
import { emptyForm, placeServerError, validateTaskForm } from "./taskForm";
import { formatDuration, localInputToRfc3339, rfc3339ToLocalInput } from "./time";

describe("splitFieldMessage", () => {
  it("splits the server's '<field>: <rule>'", () => {
    expect(splitFieldMessage("max_retry: must be between 0 and 100 (got 500)")).toEqual({
      field: "max_retry",
      rule: "must be between 0 and 100 (got 500)",
    });
  });
  it("keeps the top-level field of a nested path", () => {
    expect(splitFieldMessage("executors[0].weight: must be between 1 and 1000")?.field).toBe("executors");
  });
  it("refuses a message that names no field", () => {
    expect(splitFieldMessage("invalid JSON at line 1")).toBeNull();
  });
});

describe("placeServerError", () => {
  it("puts a validation error on the field it names", () => {
    const e = new ApiError(400, "validation_failed", "cron_expression: must have 5 or 6 fields (got 1)");
    expect(placeServerError(e)).toEqual({ field: "cron_expression", message: "must have 5 or 6 fields (got 1)" });
  });
  it("puts an unknown field's error above the form", () => {
    const e = new ApiError(400, "validation_failed", "executors: unknown executor x");
    expect(placeServerError(e)).toEqual({ field: null, message: "executors: unknown executor x" });
  });
  it("puts a duplicate name on the name field", () => {
    const e = new ApiError(409, "conflict", "a task named \"a\" already exists");
    expect(placeServerError(e).field).toBe("name");
  });
});

describe("validateTaskForm", () => {
  it("accepts the defaults with a name", () => {
    const r = validateTaskForm({ ...emptyForm(), name: " nightly " });
    expect(r.ok && r.input).toMatchObject({ name: "nightly", max_retry: 3, timeout_seconds: 300, parameters: null });
  });
  it("checks ranges, whole numbers and JSON", () => {
    const r = validateTaskForm({
      ...emptyForm(),
      name: "",
      max_retry: "101",
      timeout_seconds: "1.5",
      parameters: "[1]",
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.name).toBe("is required");
      expect(r.errors.max_retry).toBe("must be between 0 and 100");
      expect(r.errors.timeout_seconds).toBe("must be a whole number");
      expect(r.errors.parameters).toMatch(/JSON object/);
    }
  });
});

describe("parseJsonObject", () => {
  it("takes objects, and empty text as null", () => {
    expect(parseJsonObject('{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonObject("  ")).toEqual({ ok: true, value: null });
  });
  it("says what is wrong", () => {
    expect(parseJsonObject("{").ok).toBe(false);
    expect(parseJsonObject('"x"')).toMatchObject({ ok: false, error: expect.stringMatching(/not string/) });
  });
});

describe("helpers", () => {
  it("leaves empty filters out of the query string", () => {
    expect(queryString({ status: "", name: "a b", page: 2, x: undefined })).toBe("?name=a+b&page=2");
    expect(queryString({})).toBe("");
  });
  it("formats durations", () => {
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(12_345)).toBe("12.3 s");
    expect(formatDuration(245_000)).toBe("4 min 05 s");
    expect(formatDuration(null)).toBe("—");
  });
  it("round-trips datetime-local values through RFC 3339", () => {
    expect(rfc3339ToLocalInput(localInputToRfc3339("2026-11-24T10:30"))).toBe("2026-11-24T10:30");
  });
});
