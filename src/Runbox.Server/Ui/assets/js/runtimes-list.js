// The runtime names for pickers. Until the server has the runtimes API (or for keys that may not list runtimes),
// the list is just "default".
import { get } from "./api.js";

export async function runtimeNames() {
  try {
    const body = await get("/api/v1/runtimes");
    const list = Array.isArray(body) ? body : body.runtimes || [];
    const names = list.map(r => r.name);
    return names.includes("default") ? names : ["default", ...names];
  } catch {
    return ["default"];
  }
}

export function fillSelect(select, names, selected) {
  select.replaceChildren(...names.map(n => new Option(n, n, false, n === selected)));
}
