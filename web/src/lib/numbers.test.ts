import { describe, expect, it } from "vitest";
import { formatCount, formatTotal } from "./numbers";

describe("formatTotal", () => {
  it("shows an exact total as it is, thousands grouped", () => {
    expect(formatCount(0)).toBe("0");
    expect(formatTotal(57)).toBe("57");
    expect(formatTotal(9_999, false)).toBe("9,999");
  });
  it("marks a total the server stopped counting at", () => {
    expect(formatTotal(10_000, true)).toBe("10,000+");
  });
});
