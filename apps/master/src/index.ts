export * from "./state.ts"; export * from "./scheduler.ts";
