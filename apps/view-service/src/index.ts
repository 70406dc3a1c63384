export * from "./view-rules.ts";
