import { describe, expect, it } from "vitest";
import { bytes, duration, percent, speed } from "../src/format";

describe("numbers for people", () => {
  it("formats sizes, speeds, times and percentages", () => {
    expect(bytes(1_117_320_736)).toBe("1.1 GB");
    expect(bytes(512)).toBe("512 B");
    expect(speed(2_500_000)).toBe("2.5 MB/s");
    expect(duration(42)).toBe("42 s");
    expect(duration(125)).toBe("2 min 5 s");
    expect(duration(null)).toBe("—");
    expect(percent(50, 200)).toBe(25);
    expect(percent(1, 0)).toBe(0);
  });
});
