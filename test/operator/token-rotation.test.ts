// The operator's record of the token secret across a rotation (pure): the old value is kept as
// `previous` while the nodes roll, and dropped once they all run the new template.
import { describe, expect, it } from "vitest";
import { tokenRotation } from "../../operator/reconcile/token-rotation.js";

describe("token secret rotation", () => {
  it("records the value first, then keeps the old one while the roll runs, and drops it once done", () => {
    expect(tokenRotation("a", null, true)).toEqual({ write: { current: "a" }, previousActive: false });
    expect(tokenRotation("a", { current: "a" }, true)).toEqual({ write: null, previousActive: false });
    expect(tokenRotation("b", { current: "a" }, true)).toEqual({ write: { current: "b", previous: "a" }, previousActive: true });
    expect(tokenRotation("b", { current: "b", previous: "a" }, false)).toEqual({ write: null, previousActive: true });
    expect(tokenRotation("b", { current: "b", previous: "a" }, true)).toEqual({ write: { previous: null }, previousActive: false });
  });

  it("keeps only the latest old value when rotated again mid-roll, and holds while the Secret cannot be read", () => {
    expect(tokenRotation("c", { current: "b", previous: "a" }, false)).toEqual({ write: { current: "c", previous: "b" }, previousActive: true });
    expect(tokenRotation(undefined, { current: "b", previous: "a" }, true)).toEqual({ write: null, previousActive: true });
    expect(tokenRotation(undefined, null, true)).toEqual({ write: null, previousActive: false });
  });
});
