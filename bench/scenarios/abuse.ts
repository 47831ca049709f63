// abuse: not built yet (issue 11's hardening scenario).
import type { Options } from "../lib/options.js";
import type { ScenarioResult } from "./common.js";

export async function abuse(_o: Options): Promise<ScenarioResult> {
  throw new Error("the abuse scenario is not built yet");
}
